//! The page's style sheet.

/// The inline CSS of every page: system fonts, no `url(…)`, nothing fetched.
pub(super) const CSS: &str = "\
:root{color-scheme:light;--fg:#1d1d1f;--muted:#5f6368;--line:#d9dce1;--bg:#fff;--head:#f5f6f8}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--fg);font:15px/1.5 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif}
main{max-width:1100px;margin:0 auto;padding:24px 20px 48px}
h1{font-size:1.7em;margin:0 0 4px}
h2{font-size:1.2em;margin:32px 0 10px;padding-bottom:4px;border-bottom:1px solid var(--line)}
.subtitle{color:var(--muted);margin:0 0 8px}
table{border-collapse:collapse;font-variant-numeric:tabular-nums}
th,td{padding:5px 12px;border-bottom:1px solid var(--line);text-align:left;vertical-align:top}
thead th{background:var(--head);font-weight:600}
td.num,th.num{text-align:right}
#metrics td.best{font-weight:700}
.kv th{font-weight:500;color:var(--muted)}
.meanings{color:var(--muted);font-size:.92em;margin:10px 0 0;padding-left:18px}
.badge{display:inline-block;padding:0 8px;border-radius:9px;font-size:.85em;font-weight:600}
.badge.pass{background:#e6f4ea;color:#137333}
.badge.fail{background:#fce8e6;color:#a50e0e}
.cols{display:flex;flex-wrap:wrap;align-items:flex-start;gap:12px 48px}
table.grid th,table.grid td{padding:2px 4px;border:0;text-align:center;vertical-align:middle;font-size:.85em}
table.grid img{display:block;image-rendering:pixelated}
figure{margin:16px 0}
figure img{max-width:100%;height:auto;image-rendering:pixelated;border:1px solid var(--line)}
figure svg{max-width:100%;height:auto}
figcaption{color:var(--muted);font-size:.92em;margin-top:4px}
figcaption strong{color:var(--fg)}
.notes p{white-space:pre-line}
footer{margin-top:40px;color:var(--muted);font-size:.85em}
";
