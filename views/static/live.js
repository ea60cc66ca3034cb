// Live course and stage pages. Each stage element carries its id, status and
// dates (data-*). A countdown to the next boundary ticks every second in the
// course's zone and turns into the new status at zero, even before the
// server says so; the server's event stream (GET <course>/live) then confirms
// every change made anywhere: an edit, or the leader moving a stage. When the
// stream cannot be held the page polls <course>/live.json instead. On a stage
// page a change of status also refreshes the submit form and the history from
// the server, so what is shown is what the server would accept. Without
// JavaScript the pages are what the server rendered.
(function () {
  'use strict';
  var root = document.querySelector('[data-live]');
  if (!root) return;
  var base = root.getAttribute('data-live');
  var zone = root.getAttribute('data-zone') || 'UTC';
  var onStagePage = root.hasAttribute('data-stage-id');
  var MINUTE = 60 * 1000;
  var HOUR = 60 * MINUTE;
  var DAY = 24 * HOUR;
  // The words, in the reader's language, from the page (views/partials/live-texts.ejs).
  var textsEl = document.getElementById('live-texts');
  var texts = textsEl ? JSON.parse(textsEl.textContent) : {};
  var locale = texts.locale || 'en-GB';
  var announcer = document.getElementById('live-announcer');

  /** A catalogue entry with its {{placeholders}} filled in. */
  function say(key, values) {
    return String(texts[key] || key).replace(/\{\{(\w+)\}\}/g, function (_m, name) { return values[name]; });
  }

  // Each change is spoken once, however many ticks or server events confirm it.
  var announced = {};
  function announce(el, key) {
    var status = el.getAttribute('data-status');
    var id = el.getAttribute('data-stage-id') + ' ' + key + ' ' + status;
    if (!announcer || announced[id]) return;
    announced[id] = true;
    announcer.textContent = say(key, { name: el.getAttribute('data-name') || '', status: (texts.status || {})[status] || status });
  }

  function elements() {
    return Array.prototype.slice.call(document.querySelectorAll('[data-stage-id]'));
  }

  function statusAt(start, end, now) {
    if (now < start) return 'pending';
    if (now < end) return 'active';
    return 'completed';
  }

  function dayKey(ms) {
    return new Intl.DateTimeFormat('en-CA', { timeZone: zone, year: 'numeric', month: '2-digit', day: '2-digit' }).format(new Date(ms));
  }

  function clock(ms) {
    return new Intl.DateTimeFormat(locale, { timeZone: zone, hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).format(new Date(ms));
  }

  /** "2 h 13 min", "40 s": what is left, in the reader's units. */
  function left(ms) {
    if (ms < MINUTE) return say('seconds', { n: Math.max(1, Math.ceil(ms / 1000)) });
    var hours = Math.floor(ms / HOUR);
    var minutes = Math.ceil((ms % HOUR) / MINUTE);
    if (minutes === 60) {
      hours += 1;
      minutes = 0;
    }
    var parts = [];
    if (hours) parts.push(say('hours', { n: hours }));
    if (minutes || !hours) parts.push(say('minutes', { n: minutes }));
    return parts.join(' ');
  }

  /** "opens in 2 h 13 min", "closes in 40 s", "opens tomorrow at 09:00", "closes on Mon 3 Dec at 17:00". */
  function phrase(verb, at, now) {
    if (at - now < DAY) return say(verb + 'In', { left: left(at - now) });
    var time = clock(at);
    if (dayKey(now + DAY) === dayKey(at)) return say(verb + 'Tomorrow', { time: time });
    var day = new Intl.DateTimeFormat(locale, { timeZone: zone, weekday: 'short', day: 'numeric', month: 'short' }).format(new Date(at));
    return say(verb + 'On', { day: day, time: time });
  }

  function describe(status, start, end, cutoff, now) {
    if (status === 'pending') return phrase('opens', start, now);
    if (status === 'active') return phrase('closes', end, now);
    if (cutoff && now < cutoff) return phrase('lateCloses', cutoff, now);
    return say('closed', {});
  }

  /** The late cut-off, if any: work is taken (marked late) until then. */
  function cutoffOf(el) {
    var value = el.getAttribute('data-cutoff');
    return value ? Date.parse(value) : null;
  }

  function show(el, status) {
    var was = el.getAttribute('data-status');
    if (was === status) return false;
    el.setAttribute('data-status', status);
    el.classList.remove('stage--' + was);
    el.classList.add('stage--' + status);
    var badge = el.querySelector('.status');
    if (badge) {
      badge.classList.remove('status--' + was);
      badge.classList.add('status--' + status);
      badge.textContent = (texts.status || {})[status] || status;
    }
    announce(el, 'nowStatus');
    return true;
  }

  /**
   * The submit form and the history as the server renders them now. A
   * request made while one is in flight runs again when it ends: the first may
   * have been answered before the leader moved the stage.
   */
  var refreshing = false;
  var refreshAgain = false;
  function refreshStagePage() {
    if (!onStagePage) return;
    if (refreshing) {
      refreshAgain = true;
      return;
    }
    refreshing = true;
    refreshAgain = false;
    fetch(location.pathname + location.search, { credentials: 'same-origin', headers: { accept: 'text/html' } })
      .then(function (res) { return res.ok ? res.text() : null; })
      .then(function (html) {
        if (!html) return;
        var fresh = new DOMParser().parseFromString(html, 'text/html');
        ['#submit', '#history'].forEach(function (selector) {
          var now = document.querySelector(selector);
          var then = fresh.querySelector(selector);
          if (now && then) now.replaceWith(document.importNode(then, true));
        });
      })
      .catch(function () {})
      .then(function () {
        refreshing = false;
        if (refreshAgain) refreshStagePage();
      });
  }

  function tick() {
    var now = Date.now();
    var changed = false;
    elements().forEach(function (el) {
      var start = Date.parse(el.getAttribute('data-start'));
      var end = Date.parse(el.getAttribute('data-end'));
      var shown = el.getAttribute('data-status');
      // Only forward in time: the server's word wins for edits that move a stage back.
      var due = statusAt(start, end, now);
      var order = ['pending', 'active', 'completed'];
      if (order.indexOf(due) > order.indexOf(shown)) changed = show(el, due) || changed;
      // The cut-off changes no status, but the form goes: the page looks again once.
      var cutoff = cutoffOf(el);
      if (cutoff !== null && now >= cutoff && el.getAttribute('data-cutoff-passed') !== 'yes') {
        el.setAttribute('data-cutoff-passed', 'yes');
        announce(el, 'lateClosed');
        changed = true;
      }
      var countdown = el.querySelector('.countdown');
      if (countdown) countdown.textContent = describe(el.getAttribute('data-status'), start, end, cutoff, now);
    });
    if (changed) refreshStagePage();
  }

  // The status the server last stated for each stage (at render or in an
  // event). The countdown may show a change first, but the form and history
  // are refetched when the server confirms it, since only then do they differ.
  elements().forEach(function (el) {
    el.setAttribute('data-server-status', el.getAttribute('data-status'));
    var cutoff = cutoffOf(el);
    el.setAttribute('data-cutoff-passed', cutoff !== null && Date.now() >= cutoff ? 'yes' : 'no');
  });

  function apply(stages) {
    var changed = false;
    stages.forEach(function (stage) {
      var el = document.querySelector('[data-stage-id="' + stage.id + '"]');
      if (!el) return;
      el.setAttribute('data-start', stage.startDate);
      el.setAttribute('data-end', stage.endDate);
      if (stage.cutoffDate !== undefined && (stage.cutoffDate || '') !== (el.getAttribute('data-cutoff') || '')) {
        el.setAttribute('data-cutoff', stage.cutoffDate || '');
        var cutoff = cutoffOf(el);
        el.setAttribute('data-cutoff-passed', cutoff !== null && Date.now() >= cutoff ? 'yes' : 'no');
        changed = true;
      }
      if (el.getAttribute('data-server-status') !== stage.status) {
        el.setAttribute('data-server-status', stage.status);
        changed = true;
      }
      changed = show(el, stage.status) || changed;
    });
    if (changed) refreshStagePage();
    tick();
  }

  var failures = 0;
  function poll() {
    fetch(base + '/live.json', { credentials: 'same-origin' })
      .then(function (res) { return res.ok ? res.json() : null; })
      .then(function (body) { if (body) apply(body.items); })
      .catch(function () {});
  }

  function stream() {
    if (!window.EventSource) return setInterval(poll, 5000);
    var source = new EventSource(base + '/live');
    source.addEventListener('stages', function (event) {
      failures = 0;
      apply(JSON.parse(event.data));
    });
    source.onerror = function () {
      // EventSource reconnects by itself (a worker draining ends streams);
      // after a few failures in a row, a light poll instead.
      failures += 1;
      if (failures >= 3) {
        source.close();
        setInterval(poll, 5000);
      }
    };
  }

  tick();
  setInterval(tick, 1000);
  stream();
})();
