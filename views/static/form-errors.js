// A form the server sent back with errors: the focus goes to the first field
// that is wrong, so a keyboard or screen-reader user lands on it and hears its
// label and its error (tied to it with aria-describedby, field-aria.ejs)
// instead of starting again at the top of the page.
const firstError = document.querySelector('.field-error');
const field = firstError?.closest('.field')?.querySelector('input:not([type=hidden]), select, textarea');
if (field) {
  field.focus();
  field.scrollIntoView({ block: 'center' });
}
