/**
 * The agent console's small script (served at /assets/agent.js; no inline script under our CSP).
 * Progressive enhancement only: the form works without it.
 *  - spells the email back as the agent reads it to the prospect ("point", "arobase"…);
 *  - looks the lead up by phone or email and fills their known details (a returning prospect).
 */
export const agentJs = `
(function () {
  var email = document.getElementById('email');
  var spelled = document.getElementById('email-spelled');
  var words = { '@': 'arobase', '.': 'point', '-': 'tiret', '_': 'tiret bas', '+': 'plus' };
  function spell() {
    if (!email || !spelled) return;
    var v = email.value.trim();
    var out = [];
    var word = '';
    for (var i = 0; i < v.length; i++) {
      var ch = v[i];
      if (words[ch]) { if (word) out.push(word); word = ''; out.push('[' + words[ch] + ']'); }
      else word += ch;
    }
    if (word) out.push(word);
    spelled.textContent = v ? out.join(' ') : '';
  }
  if (email) { email.addEventListener('input', spell); spell(); }

  var phone = document.getElementById('phone');
  var found = document.getElementById('lead-found');
  function fill(id, value) { var el = document.getElementById(id); if (el && !el.value && value) el.value = value; }
  function lookup(param, value) {
    if (!found || value.trim().length < 6) return;
    fetch('/api/v1/contacts?' + param + '=' + encodeURIComponent(value.trim()), { credentials: 'same-origin', headers: { accept: 'application/json' } })
      .then(function (r) { return r.ok ? r.json() : { contacts: [] }; })
      .then(function (data) {
        var c = data.contacts && data.contacts[0];
        if (!c) { found.textContent = ''; return; }
        fill('email', c.email); fill('phone', c.phone); fill('firstName', c.firstName); fill('lastName', c.lastName);
        spell();
        var states = (c.consents || []).map(function (s) { return s.purpose + ' : ' + s.status + (s.confirmedAt ? ' (confirmé)' : ''); }).join(', ');
        found.textContent = 'Contact connu : ' + [c.firstName, c.lastName].filter(Boolean).join(' ') + (states ? ' — ' + states : '');
      })
      .catch(function () {});
  }
  // Find the lead as soon as the agent leaves the phone or email field.
  if (phone) phone.addEventListener('change', function () { lookup('phone', phone.value); });
  if (email) email.addEventListener('change', function () { lookup('email', email.value); });
  if (phone && phone.value) lookup('phone', phone.value);
})();
`;
