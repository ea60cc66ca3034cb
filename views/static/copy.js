// "Copy" buttons: data-copy names the field whose value goes to the clipboard.
for (const button of document.querySelectorAll('[data-copy]')) {
  button.addEventListener('click', () => {
    const field = document.querySelector(button.dataset.copy);
    if (!field) return;
    field.select();
    navigator.clipboard?.writeText(field.value).then(() => (button.textContent = button.dataset.copied || 'Copied'), () => document.execCommand('copy'));
  });
}
