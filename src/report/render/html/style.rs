//! The page's inline stylesheet, and the script that checks every chart has drawn.

pub(super) const CSS: &str = r#"
:root{--ink:#1d2433;--muted:#5b6475;--line:#d9dde5;--bg:#f5f6f8;--card:#fff;--pass:#17663a;--pass-bg:#e3f3e9;--fail:#b3261e;--fail-bg:#fbe4e2;--none:#4b5563;--none-bg:#eceef2;--accent:#1f4e99}
*{box-sizing:border-box}
html{-webkit-text-size-adjust:100%}
body{margin:0;font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;color:var(--ink);background:var(--bg)}
.wrap{max-width:980px;margin:0 auto;padding:0 16px}
header.masthead{background:#14294d;color:#fff;padding:28px 0 22px}
header .eyebrow{margin:0;font-size:13px;letter-spacing:.06em;text-transform:uppercase;opacity:.8}
header h1{margin:4px 0 6px;font-size:30px;line-height:1.15}
header h1 small{display:block;font-size:16px;font-weight:400;opacity:.85}
header .meta{margin:0;font-size:13px;opacity:.85}
nav.toc{display:flex;flex-wrap:wrap;gap:6px 14px;padding:10px 0;font-size:14px}
nav.toc a{color:var(--accent);text-decoration:none}
section.card{background:var(--card);border:1px solid var(--line);border-radius:10px;padding:18px 18px 14px;margin:16px 0}
h2{margin:0 0 10px;font-size:20px}
h3{margin:18px 0 6px;font-size:16px}
p.lead{margin:0 0 12px;color:var(--muted)}
.kpis{display:grid;grid-template-columns:repeat(auto-fit,minmax(140px,1fr));gap:10px;margin:16px 0}
.kpi{background:var(--card);border:1px solid var(--line);border-radius:10px;padding:12px 14px}
.kpi .v{font-size:24px;font-weight:650;line-height:1.2}
.kpi .l{font-size:13px;color:var(--muted)}
.kpi.fail{border-color:var(--fail);background:var(--fail-bg)}
.kpi.pass{border-color:var(--pass);background:var(--pass-bg)}
.scroll{overflow-x:auto;-webkit-overflow-scrolling:touch}
table{border-collapse:collapse;width:100%;font-size:14px}
th,td{padding:6px 8px;border-bottom:1px solid var(--line);text-align:left;vertical-align:top;white-space:nowrap}
td.wrap{white-space:normal;min-width:14em}
th{font-size:12px;text-transform:uppercase;letter-spacing:.04em;color:var(--muted);font-weight:600;white-space:normal;vertical-align:bottom}
td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}
tbody tr:hover{background:#fafbfc}
.pill{display:inline-block;padding:1px 8px;border-radius:999px;font-size:12px;font-weight:600}
.pill.pass{color:var(--pass);background:var(--pass-bg)}
.pill.fail{color:var(--fail);background:var(--fail-bg)}
.pill.none{color:var(--none);background:var(--none-bg)}
.mark{font-weight:700;padding:0 2px}.mark.ok{color:var(--pass)}.mark.bad{color:var(--fail)}.mark.na{color:var(--none)}
.cls{display:inline-block;width:10px;height:10px;border-radius:2px;margin-right:6px;vertical-align:baseline}
a.ev{color:inherit;text-decoration:underline dotted;text-underline-offset:2px}
svg.chart{display:block;width:100%;margin:6px 0 4px;overflow:visible}
.ind svg.chart{height:auto}
svg text{font-family:system-ui,-apple-system,"Segoe UI",Roboto,Arial,sans-serif}
.legend{display:flex;flex-wrap:wrap;gap:4px 16px;font-size:13px;color:var(--muted);margin:4px 0 8px}
.legend i{display:inline-block;width:14px;height:10px;margin-right:5px;vertical-align:middle;border-radius:2px}
.ind{display:grid;grid-template-columns:repeat(auto-fit,minmax(280px,1fr));gap:12px}
.ind article{border:1px solid var(--line);border-radius:10px;padding:12px 14px}
.ind h3{margin:0 0 2px;font-size:15px}
.ind .da{margin:0 0 8px;font-size:12px;color:var(--muted);font-style:italic}
.ind .big{font-size:24px;font-weight:650}
.ind dl{display:grid;grid-template-columns:auto 1fr;gap:2px 10px;margin:8px 0 0;font-size:13px}
.ind dt{color:var(--muted)}
.ind dd{margin:0}
ul.plain{margin:6px 0;padding-left:18px}
.violation{border-left:4px solid var(--fail);padding:6px 10px;margin:8px 0;background:var(--fail-bg);border-radius:0 6px 6px 0}
.violation p{margin:0}
.ids{font:12px/1.6 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;color:var(--muted);word-break:break-all;margin:2px 0 0}
details summary{cursor:pointer;color:var(--accent);font-size:13px}
.evidence .item{padding:6px 0;border-bottom:1px solid var(--line)}
.evidence .item:target{background:#fff7d6}
.evidence h4{margin:0;font-size:13px;font-weight:600}
.note{font-size:13px;color:var(--muted)}
footer{color:var(--muted);font-size:12px;padding:10px 0 30px}
@media (max-width:600px){body{font-size:14px}header h1{font-size:24px}section.card{padding:14px 12px;border-radius:8px}th,td{padding:5px 6px}}
@media print{body{background:#fff;font-size:11pt}header.masthead{background:#fff;color:#000;border-bottom:2px solid #000;padding:0 0 8px}nav.toc{display:none}section.card,.kpi,.ind article{border-color:#999;break-inside:avoid}section.card{border:none;padding:0;margin:14px 0}a.ev{text-decoration:none}.evidence{font-size:9pt}tbody tr:hover{background:none}@page{margin:15mm}}
"#;

pub(super) const SCRIPT: &str = r#"(function(){var r=document.documentElement;function fail(m){r.setAttribute('data-render-check','error: '+m)}window.addEventListener('error',function(e){fail(e.message||'script error')});try{var charts=document.querySelectorAll('svg.chart');var empty=[];for(var i=0;i<charts.length;i++){var b=charts[i].getBBox();if(!(b.width>0&&b.height>0)){empty.push(charts[i].id||String(i))}}r.setAttribute('data-charts',String(charts.length));if(empty.length){fail('empty charts: '+empty.join(' '))}else{r.setAttribute('data-render-check','ok')}}catch(e){fail(e.message)}})();"#;
