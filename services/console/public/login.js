// The login page's one convenience: a link ending in #key=<key> (scripts/up.sh --demo prints
// one) logs in at once. The key is taken out of the address bar first and sent only by POST.
'use strict';
(function () {
  const m = /^#key=([^&]+)$/.exec(window.location.hash);
  if (!m) return;
  history.replaceState(null, '', window.location.pathname);
  const form = document.getElementById('login');
  document.getElementById('key').value = decodeURIComponent(m[1]);
  form.submit();
})();
