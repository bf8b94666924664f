/** The stylesheet of every page, served at /assets/app.css (no build step, same on both runtimes). */
export const appCss = `
:root{--ink:#1f2933;--muted:#52606d;--line:#d9e2ec;--bg:#f5f7fa;--card:#fff;--brand:#1d4ed8;--brand-ink:#fff;--ok:#0f7b3f;--warn:#9a5b00;--err:#b42318;--focus:#f59e0b}
*{box-sizing:border-box}
html{font-family:system-ui,-apple-system,"Segoe UI",Roboto,Arial,sans-serif;color:var(--ink);background:var(--bg);line-height:1.5}
body{margin:0}
a{color:var(--brand)}
:focus-visible{outline:3px solid var(--focus);outline-offset:2px}
.skip{position:absolute;left:-999px}.skip:focus{left:8px;top:8px;background:#fff;padding:8px;z-index:10}
header.top{background:#102a43;color:#fff}
header.top .bar{max-width:1120px;margin:0 auto;display:flex;flex-wrap:wrap;gap:8px 20px;align-items:center;padding:10px 16px}
header.top .brand{font-weight:700;color:#fff;text-decoration:none;margin-right:8px}
header.top .account{margin-left:auto;display:flex;align-items:center;gap:10px}
header.top nav{display:flex;flex-wrap:wrap;gap:4px 14px;align-items:center}
header.top nav a{color:#d9e2ec;text-decoration:none;padding:4px 2px}
header.top nav a[aria-current=page]{color:#fff;border-bottom:2px solid #fff}
header.top .who{font-size:14px;color:#bcccdc}
header.top form{display:inline}
main{max-width:1120px;margin:0 auto;padding:24px 16px 48px}
h1{font-size:1.6rem;margin:0 0 8px}
h2{font-size:1.15rem;margin:0 0 12px}
p.lead{color:var(--muted);margin-top:0}
.card{background:var(--card);border:1px solid var(--line);border-radius:10px;padding:20px;margin:16px 0}
.grid{display:grid;gap:16px;grid-template-columns:repeat(auto-fit,minmax(280px,1fr))}
label{display:block;font-weight:600;margin:12px 0 4px}
input[type=text],input[type=email],input[type=password],input[type=url],input[type=number],input[type=tel],input[type=search],select{width:100%;max-width:480px;padding:9px 10px;border:1px solid #9aa5b1;border-radius:6px;font:inherit;background:#fff}
input[type=checkbox]{width:18px;height:18px;vertical-align:middle;margin-right:6px}
.check{display:flex;align-items:center;font-weight:600;margin:12px 0}
button,.button{display:inline-block;font:inherit;font-weight:600;padding:9px 16px;border-radius:6px;border:1px solid var(--brand);background:var(--brand);color:var(--brand-ink);cursor:pointer;text-decoration:none}
button.secondary,a.button.secondary{background:#fff;color:var(--brand)}
button.danger{background:#fff;color:var(--err);border-color:var(--err)}
button.link{background:none;border:none;color:#d9e2ec;padding:4px 2px;font-weight:400}
.actions{margin-top:16px;display:flex;gap:8px;flex-wrap:wrap}
.notice{padding:12px 14px;border-radius:8px;margin:12px 0;border:1px solid}
.notice.ok{background:#e3f9e5;border-color:#a3d9a5;color:#05400a}
.notice.err{background:#ffe3e3;border-color:#f5a3a3;color:#610404}
.notice.info{background:#e6f0ff;border-color:#a8c5ff;color:#0b2e6b}
.field-error{color:var(--err);font-size:14px;margin:4px 0 0}
table{width:100%;border-collapse:collapse;background:#fff}
th,td{text-align:left;padding:8px 10px;border-bottom:1px solid var(--line);vertical-align:top}
tbody th[scope=row]{font-size:inherit;text-transform:none;letter-spacing:normal;color:var(--ink)}
tr.total th,tr.total td{font-weight:600;border-top:2px solid var(--line)}
th{font-size:13px;text-transform:uppercase;letter-spacing:.03em;color:var(--muted)}
.table-wrap{position:relative;overflow-x:auto;border:1px solid var(--line);border-radius:10px}
.muted{color:var(--muted)}
.pill{display:inline-block;padding:1px 8px;border-radius:999px;font-size:13px;background:#e4e7eb}
.pill.ok{background:#e3f9e5;color:#05400a}.pill.warn{background:#fff3c4;color:#5c3c00}.pill.err{background:#ffe3e3;color:#610404}
code,pre{font-family:ui-monospace,SFMono-Regular,Menlo,monospace;font-size:13px}
pre{background:#f0f4f8;padding:12px;border-radius:8px;overflow:auto;white-space:pre-wrap;word-break:break-word}
.secret{font-size:15px;background:#fffbea;border:1px dashed var(--warn);padding:10px;border-radius:6px;word-break:break-all}
dl.kv{display:grid;grid-template-columns:max-content 1fr;gap:4px 16px;margin:0}
dl.kv dt{color:var(--muted)}dl.kv dd{margin:0;overflow-wrap:anywhere}
dl.kv.stack{grid-template-columns:1fr;gap:0}dl.kv.stack dt{font-size:13px;margin-top:8px}
iframe.mail{width:100%;height:720px;border:1px solid var(--line);border-radius:8px;background:#fff}
.auth-box{max-width:420px;margin:48px auto}
.account-box{max-width:420px}
header.top a.who{color:#bcccdc;text-decoration:none}
header.top a.who:hover,header.top a.who:focus-visible{text-decoration:underline}
.method{display:inline-block;min-width:64px;font-weight:700;font-family:ui-monospace,monospace}
.sr-only{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}
.inline-form{display:flex;gap:6px;align-items:center}.inline-form select{width:auto}
.flush{margin-top:0}.pre-line{white-space:pre-line}
fieldset.plain{border:none;padding:0;margin:12px 0 0}fieldset.plain legend{font-weight:600}
.check.light{font-weight:400}
details{border-top:1px solid var(--line);padding:8px 0}details summary{cursor:pointer}
.grid.two{grid-template-columns:repeat(auto-fit,minmax(260px,1fr));gap:0 24px}
.console .card{margin:12px 0}
fieldset.purpose{border:1px solid var(--line)}
fieldset.purpose legend{font-weight:700;font-size:1.05rem;padding:0 6px}
.read-aloud-label{margin:0 0 6px;color:var(--muted);font-size:14px}
blockquote.script{margin:0 0 12px;padding:12px 16px;border-left:4px solid var(--brand);background:#f0f4ff;font-size:1.05rem;line-height:1.6}
.choices{display:flex;gap:12px;flex-wrap:wrap}
.choice{display:flex;align-items:center;gap:8px;font-weight:600;border:2px solid var(--line);border-radius:8px;padding:10px 16px;margin:0;cursor:pointer}
.choice:has(input:checked){border-color:var(--brand);background:#e6f0ff}
.choice:focus-within{outline:3px solid var(--focus);outline-offset:2px}
.spelled{font-family:ui-monospace,monospace;font-size:15px;color:#0b2e6b;margin:6px 0 0;min-height:1.5em}
.receipt ul{margin:6px 0}
h2.spaced{margin-top:24px}
progress{width:100%;height:22px;accent-color:var(--brand)}
.event .hash{font-family:ui-monospace,monospace;font-size:12px;overflow-wrap:anywhere}
@media print{header.top,.actions,nav{display:none}body{background:#fff}.card{border:none;padding:0}}
.small{font-size:13px}
.inline-form input[name=outcome]{min-width:220px}
textarea{width:100%;padding:8px 10px;border:1px solid var(--line);border-radius:6px;font:inherit}
.override{border:2px solid #f0b429;background:#fffbea}
.prefs{max-width:680px;margin:32px auto}
ul.purposes{list-style:none;padding:0;margin:0}
ul.purposes li{border:1px solid var(--line);border-radius:8px;padding:12px;margin:8px 0}
ul.purposes li.focus{border-color:var(--brand);box-shadow:0 0 0 3px #c7d7ff}
ul.purposes form{display:flex;flex-wrap:wrap;gap:8px;align-items:center}
ul.purposes form button{margin-left:auto}
ul.purposes details{flex-basis:100%;order:5}
@media (max-width:600px){main{padding:16px 12px}header.top .bar{padding:8px 12px}iframe.mail{height:560px}}
`;

/** A small envelope-with-check icon, so browsers do not ask for a missing /favicon.ico. */
export const faviconSvg = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32"><rect width="32" height="32" rx="6" fill="#102a43"/><path d="M6 10h20v13H6z" fill="none" stroke="#fff" stroke-width="2"/><path d="M6 10l10 8 10-8" fill="none" stroke="#fff" stroke-width="2"/><circle cx="24" cy="22" r="6" fill="#0f7b3f"/><path d="M21 22l2 2 4-4" fill="none" stroke="#fff" stroke-width="2"/></svg>`;
