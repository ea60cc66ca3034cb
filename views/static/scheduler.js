// Re-fetches the live part of the scheduler console every few seconds, so it
// stays current without a full reload. Pauses while the tab is hidden.
const live = document.getElementById('scheduler-live');
const REFRESH_MS = 5000;

async function refresh() {
  if (document.hidden) return;
  try {
    const res = await fetch(live.dataset.refresh, { credentials: 'same-origin', headers: { accept: 'text/html' } });
    if (res.ok) live.innerHTML = await res.text();
  } catch {
    // Offline for a moment: keep what is shown and try again next time.
  }
}

if (live) setInterval(refresh, REFRESH_MS);
