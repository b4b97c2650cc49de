/** The console's one stylesheet, inline under the response's nonce. System fonts, no images, AA contrast. */
export const STYLES = `
:root{--fg:#1d1d1f;--muted:#555;--line:#d0d0d7;--bg:#fff;--soft:#f4f5f8;--accent:#0b57b7;--danger:#a1221b;--ok:#0a6b31;--warn:#8a5a00}
*{box-sizing:border-box}
body{font:15px/1.5 system-ui,-apple-system,"Segoe UI",sans-serif;color:var(--fg);background:var(--bg);margin:0}
a{color:var(--accent)}
.skip{position:absolute;left:-9999px}.skip:focus{left:1rem;top:.5rem;background:#fff;padding:.25rem .5rem;z-index:2}
.top{display:flex;align-items:center;gap:.75rem;padding:.6rem 1.5rem;border-bottom:1px solid var(--line);background:var(--soft)}
.brand{font-weight:700;text-decoration:none;color:var(--fg);font-size:1.1rem}.crumb a{font-weight:600}
.spacer{flex:1}.who{color:var(--muted);font-size:.9rem}
.tabs{display:flex;flex-wrap:wrap;gap:.25rem;padding:0 1.5rem;border-bottom:1px solid var(--line)}
.tabs a{padding:.55rem .75rem;text-decoration:none;color:var(--muted);border-bottom:3px solid transparent}
.tabs a[aria-current=page]{color:var(--fg);border-bottom-color:var(--accent);font-weight:600}
main{max-width:1180px;margin:0 auto;padding:1rem 1.5rem 4rem}
h1{font-size:1.5rem;margin:.75rem 0}h2{font-size:1.15rem;margin:1.5rem 0 .5rem}h3{font-size:1rem;margin:1rem 0 .25rem}
table{border-collapse:collapse;width:100%;margin:.5rem 0}
th,td{text-align:left;padding:.4rem .5rem;border-bottom:1px solid var(--line);vertical-align:top;overflow-wrap:anywhere}
td .actions{flex-wrap:nowrap;margin-top:0}.card>h2:first-child,.card>h3:first-child{margin-top:0}
fieldset.inline label{margin-right:1rem}
th{font-size:.85rem;color:var(--muted);font-weight:600}
code,.mono{font-family:ui-monospace,SFMono-Regular,Menlo,monospace;font-size:.9em}
button{font:inherit;padding:.35rem .8rem;border:1px solid var(--line);border-radius:6px;background:#fff;color:var(--fg);cursor:pointer}
button.primary{background:var(--accent);border-color:var(--accent);color:#fff}
button.danger{background:var(--danger);border-color:var(--danger);color:#fff}
button.link{border:0;background:none;color:var(--accent);text-decoration:underline;padding:0}
button:disabled{opacity:.55;cursor:not-allowed}
button:focus-visible,a:focus-visible,input:focus-visible,select:focus-visible,textarea:focus-visible{outline:3px solid #7aa7e8;outline-offset:1px}
input,select,textarea{font:inherit;padding:.35rem .5rem;border:1px solid #8a8a94;border-radius:6px;width:100%;max-width:34rem;background:#fff;color:var(--fg)}
input[type=checkbox],input[type=radio]{width:auto}
select[multiple]{min-height:7rem}
[aria-invalid=true]{border-color:var(--danger);outline:2px solid var(--danger)}
.field{margin:.6rem 0;display:flex;flex-direction:column;gap:.15rem}
.field label{font-weight:600}
fieldset{border:1px solid var(--line);border-radius:8px;padding:.5rem 1rem;margin:.75rem 0}
fieldset.inline{flex-direction:row;flex-wrap:wrap;gap:1rem;align-items:center}
.hint{color:var(--muted)}.field-error,.form-error{color:var(--danger);font-weight:600}
.actions{display:flex;gap:.5rem;margin-top:.75rem;flex-wrap:wrap}
.card{border:1px solid var(--line);border-radius:10px;padding:.75rem 1rem;margin:.75rem 0}
.grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(16rem,1fr));gap:.75rem}
.banner{background:#fff4d6;border:1px solid #e0c36b;padding:.5rem .75rem;border-radius:8px}
.banner.error{background:#fde8e6;border-color:#d9776f;color:#6b140e}h1:focus{outline:none}
.badge{display:inline-block;padding:0 .45rem;border-radius:999px;font-size:.8rem;font-weight:600;border:1px solid}
.badge.active,.badge.on{color:var(--ok);border-color:var(--ok)}.badge.revoked,.badge.off{color:var(--danger);border-color:var(--danger)}
.badge.expired{color:var(--warn);border-color:var(--warn)}
.toast{position:fixed;right:1rem;bottom:1rem;max-width:32rem;padding:.6rem .9rem;border-radius:8px;background:#0d3d1d;color:#fff}
.toast.error{background:#7a1a14}
dialog{border:1px solid var(--line);border-radius:12px;padding:1.25rem 1.5rem;max-width:44rem;width:calc(100% - 2rem)}
dialog::backdrop{background:rgba(0,0,0,.45)}
.secret{display:block;padding:.6rem;background:var(--soft);border-radius:6px;word-break:break-all;font-size:1rem}
pre{background:var(--soft);padding:.6rem;border-radius:6px;overflow:auto;white-space:pre-wrap;word-break:break-all}
.warning{color:var(--danger);font-weight:600}
.toggle{display:flex;align-items:center;gap:.5rem;margin:.3rem 0}
.muted{color:var(--muted)}
.filters{display:flex;gap:1rem;flex-wrap:wrap;align-items:end}.filters .field{margin:0}
.chart svg{max-width:100%;height:auto}.chart text{font-size:11px;fill:var(--muted)}
.rule{border:1px dashed var(--line);border-radius:8px;padding:.5rem 1rem;margin:.5rem 0}
[hidden]{display:none!important}
.row-actions{display:flex;gap:.4rem;flex-wrap:wrap}
td.num{text-align:right;font-variant-numeric:tabular-nums}
.rules{list-style:none;padding:0;margin:0}.rule-list{margin:0;padding-left:1.2rem}
.chart-wrap{display:grid;grid-template-columns:minmax(0,3fr) minmax(24rem,2fr);gap:1rem;align-items:start}.chart{margin:0}
.scroll{max-height:22rem;overflow:auto}.scroll th,.scroll td{white-space:nowrap}
.rule .conditions{display:grid;grid-template-columns:repeat(auto-fit,minmax(15rem,1fr));gap:0 1rem}
.details{display:grid;grid-template-columns:max-content 1fr;gap:.25rem 1rem}.details dt{font-weight:600}.details dd{margin:0}
@media (max-width:800px){.chart-wrap{grid-template-columns:1fr}}
`;
