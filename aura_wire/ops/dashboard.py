"""The self-contained HTML dashboard page (inline CSS, JS and SVG; no CDN, no external fetch).

The page embeds the current health report and time series at render time
(so it shows data at first paint, even without JavaScript timers), then
polls the JSON endpoints every ``refresh`` seconds.  No I/O here: this
module only builds a string.
"""

from __future__ import annotations

import html
import json
from typing import Any

__all__ = ["render_dashboard"]

_PAGE = r"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>__TITLE__</title>
<style>
:root{--bg:#f6f7f9;--card:#fff;--ink:#1d2330;--muted:#6b7280;--line:#e5e7eb;--ok:#15803d;--warn:#b45309;--crit:#b91c1c}
*{box-sizing:border-box}body{margin:0;font:14px/1.4 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;background:var(--bg);color:var(--ink)}
header{display:flex;align-items:center;gap:16px;padding:14px 22px;background:#111827;color:#fff}
header h1{font-size:18px;margin:0;font-weight:600}header .sub{color:#9ca3af;font-size:12px}
.badge{padding:3px 10px;border-radius:999px;font-weight:700;font-size:12px;text-transform:uppercase;letter-spacing:.04em}
.b-ok{background:#dcfce7;color:var(--ok)}.b-warning{background:#fef3c7;color:var(--warn)}.b-critical{background:#fee2e2;color:var(--crit)}
main{padding:16px 22px;display:grid;gap:14px}
.tiles{display:grid;grid-template-columns:repeat(auto-fit,minmax(150px,1fr));gap:10px}
.tile{background:var(--card);border:1px solid var(--line);border-radius:8px;padding:10px 12px}
.tile .k{color:var(--muted);font-size:11px;text-transform:uppercase;letter-spacing:.05em}.tile .v{font-size:22px;font-weight:650;margin-top:2px}
.grid{display:grid;grid-template-columns:1fr 1fr;gap:14px}
.card{background:var(--card);border:1px solid var(--line);border-radius:8px;padding:10px 12px}
.card h2{font-size:13px;margin:0 0 4px;font-weight:600}.card svg{width:100%;height:200px;display:block}
.legend{font-size:11px;color:var(--muted)}.legend span{margin-right:12px}.legend i{display:inline-block;width:10px;height:10px;border-radius:2px;margin-right:4px;vertical-align:-1px}
.alerts{list-style:none;margin:0;padding:0}.alerts li{padding:4px 0;border-top:1px solid var(--line)}.alerts li:first-child{border-top:0}
.arms{border-collapse:collapse;width:100%}.arms td,.arms th{padding:4px 6px;font-size:13px;text-align:right;border-top:1px solid var(--line)}.arms th:first-child,.arms td:first-child{text-align:left}
.sev{font-weight:700;font-size:11px;text-transform:uppercase;margin-right:8px}.sev-critical{color:var(--crit)}.sev-warning{color:var(--warn)}.sev-info{color:var(--muted)}.sev-ok{color:var(--ok)}
</style></head><body>
<header><h1>aura_wire &middot; compression</h1><span id="status" class="badge b-ok">ok</span><span class="sub" id="updated"></span></header>
<main>
<section class="tiles" id="tiles"></section>
<section class="grid">
<div class="card"><h2>Compression ratio (original / all bytes sent, control and dictionary transfers included)</h2><div class="legend" id="lg-ratio"></div><svg id="c-ratio"></svg></div>
<div class="card"><h2>Bandwidth saved</h2><div class="legend" id="lg-savings"></div><svg id="c-savings"></svg></div>
<div class="card"><h2>Versus permessage-deflate w15 (deflate bytes / AURA bytes, sampled connections shadow-coded with zlib)</h2><div class="legend" id="lg-vsd"></div><svg id="c-vsd"></svg></div>
<div class="card"><h2>Method mix (share of messages per interval)</h2><div class="legend" id="lg-methods"></div><svg id="c-methods"></svg></div>
<div class="card"><h2>Encode latency</h2><div class="legend" id="lg-latency"></div><svg id="c-latency"></svg></div>
</section>
<section class="grid">
<div class="card" id="alerts-card"><h2>Alerts</h2><ul class="alerts" id="alerts"></ul></div>
<div class="card" id="arms-card" style="display:none"><h2>Canary arms</h2><table class="arms" id="arms"></table></div>
</section>
<section class="card" id="cluster-card" style="display:none"><h2>Cluster replicas <span class="legend" id="cluster-sum"></span></h2><table class="arms" id="cluster"></table></section>
</main>
<script id="aura-initial" type="application/json">__INITIAL__</script>
<script>
"use strict";
const CFG={series:__SERIES_URL__,health:__HEALTH_URL__,refresh:__REFRESH__};
const COLORS={raw:"#9ca3af",zstd:"#2563eb",brotli:"#7c3aed",template:"#059669",brio:"#ea580c","template+brio":"#0891b2"};
const PALETTE=["#2563eb","#ea580c","#059669","#7c3aed","#db2777","#0891b2","#65a30d","#9ca3af"];
function esc(s){return String(s).replace(/[&<>"]/g,c=>({"&":"&amp;","<":"&lt;",">":"&gt;",'"':"&quot;"}[c]));}
function fmtBytes(n){const u=["B","KiB","MiB","GiB","TiB"];let i=0;let v=Math.abs(n);while(v>=1024&&i<u.length-1){v/=1024;i++;}return (n<0?"-":"")+v.toFixed(i?1:0)+" "+u[i];}
function fmtTime(t,step){const d=new Date(t*1000);return d.toTimeString().slice(0,step>=60?5:8);}
// Time ticks at a round step (1 s ... 1 day): at most 5, each label distinct.
const STEPS=[1,2,5,10,15,30,60,120,300,600,900,1800,3600,7200,10800,21600,43200,86400];
function timeTicks(x0,x1){const span=x1-x0;let step=STEPS.find(s=>span/s<=4)||86400*Math.ceil(span/86400/4);
  const out=[];for(let t=Math.ceil(x0/step)*step;t<=x1+1e-9;t+=step)out.push(t);return {step,ticks:out};}
// The time domain shared by every chart: all points, padded when there is only one instant.
function timeDomain(P,interval){if(!P.length)return null;let x0=Math.min(...P.map(p=>p.t)),x1=Math.max(...P.map(p=>p.t));
  if(x1-x0<1){const pad=Math.max(interval||10,2)/2;x0-=pad;x1+=pad;}return [x0,x1];}
function fmtUs(s){return s<1e-3?(s*1e6).toFixed(0)+" \u00b5s":(s*1e3).toFixed(2)+" ms";}
function legend(id,items){document.getElementById(id).innerHTML=items.map(([n,c])=>`<span><i style="background:${c}"></i>${esc(n)}</span>`).join("");}
function num(v){return String(Math.round(v*100)/100);}  // at most two decimals, no trailing zeros
function niceMax(v){if(!(v>0))return 1;const p=Math.pow(10,Math.floor(Math.log10(v)));for(const m of [1,2,2.5,5,10]){if(m*p>=v)return m*p;}return 10*p;}
function chart(id,series,o){
  const svg=document.getElementById(id),W=560,H=210,L=54,R=10,T=8,B=24;svg.setAttribute("viewBox",`0 0 ${W} ${H}`);
  const pts=series.flatMap(s=>s.values.filter(p=>p[1]!==null&&isFinite(p[1])));
  if(!pts.length){svg.innerHTML=`<text x="${W/2}" y="${H/2}" text-anchor="middle" fill="#9ca3af">no data yet</text>`;return;}
  let [x0,x1]=o.xd||[Math.min(...pts.map(p=>p[0])),Math.max(...pts.map(p=>p[0]))];if(x1===x0){x0-=1;x1+=1;}
  const top=Math.max(...pts.map(p=>p[1])),ref=(o.ref!==undefined&&o.ref!==null&&isFinite(o.ref))?o.ref:undefined;
  // the target joins the scale when it is within 4x of the data; far above, it is named instead of drawn
  const refIn=ref!==undefined&&(o.yMax!==undefined?ref<=o.yMax:ref<=4*top||!(top>0));
  const y0=o.yMin!==undefined?o.yMin:0,y1=o.yMax!==undefined?o.yMax:niceMax(Math.max(top,refIn?ref:0)*1.1);
  const X=x=>L+(x-x0)/(x1-x0)*(W-L-R),Y=y=>T+(1-(Math.min(Math.max(y,y0),y1)-y0)/(y1-y0))*(H-T-B);
  let g="";for(let i=0;i<=4;i++){const v=y0+(y1-y0)*i/4,y=Y(v);g+=`<line x1="${L}" x2="${W-R}" y1="${y}" y2="${y}" stroke="#eef0f3"/><text x="${L-6}" y="${y+4}" text-anchor="end" font-size="10" fill="#6b7280">${esc(o.fmt(v))}</text>`;}
  const tt=timeTicks(x0,x1);for(const x of tt.ticks){const px=X(x),a=px<L+24?"start":px>W-R-24?"end":"middle";g+=`<line x1="${px}" x2="${px}" y1="${H-B}" y2="${H-B+3}" stroke="#9ca3af"/><text x="${px}" y="${H-6}" text-anchor="${a}" font-size="10" fill="#6b7280">${fmtTime(x,tt.step)}</text>`;}
  let rg="";  // the target goes on top of the series, its label with a white halo
  if(ref!==undefined&&refIn){const ry=Y(ref),ly=ry-T<14?ry+12:ry-4;rg+=`<line x1="${L}" x2="${W-R}" y1="${ry}" y2="${ry}" stroke="#b91c1c" stroke-dasharray="4 3" stroke-width="1"/><text x="${W-R-2}" y="${ly}" text-anchor="end" font-size="10" fill="#b91c1c" stroke="#fff" stroke-width="3" paint-order="stroke">${esc(o.refLabel||"")}</text>`;}
  else if(ref!==undefined){rg+=`<text x="${W-R-2}" y="${T+10}" text-anchor="end" font-size="10" fill="#b91c1c" stroke="#fff" stroke-width="3" paint-order="stroke">${esc((o.refLabel||"")+" \u2191 above the chart")}</text>`;}
  for(const s of series){
    if(s.hidden)continue;  // only sets the scale
    if(s.area){g+=`<path d="${s.area}" fill="${s.color}" fill-opacity="0.85"/>`;continue;}
    const v=s.values.filter(p=>p[1]!==null&&isFinite(p[1]));if(!v.length)continue;
    const d=v.map((p,i)=>(i?"L":"M")+X(p[0]).toFixed(1)+" "+Y(p[1]).toFixed(1)).join(" ");
    g+=`<path d="${d}" fill="none" stroke="${s.color}" stroke-width="${s.width||2}" ${s.dash?'stroke-dasharray="5 3"':""}/>`;
    if(v.length<3)g+=v.map(p=>`<circle cx="${X(p[0]).toFixed(1)}" cy="${Y(p[1]).toFixed(1)}" r="3" fill="${s.color}"/>`).join("");
  }
  g+=`<line x1="${L}" x2="${L}" y1="${T}" y2="${H-B}" stroke="#9ca3af"/><line x1="${L}" x2="${W-R}" y1="${H-B}" y2="${H-B}" stroke="#9ca3af"/>`;
  g+=rg;svg.innerHTML=g;return {X,Y,L,Rx:W-R};
}
function stacked(id,points,xd){
  const methods=[...new Set(points.flatMap(p=>Object.keys(p.interval.methods)))].sort();
  const rows=points.filter(p=>p.interval.messages>0);
  const svg=document.getElementById(id);
  if(!rows.length){chart(id,[],{fmt:v=>v,xd});legend("lg-methods",[]);return;}
  const col=(m,i)=>COLORS[m]||PALETTE[i%PALETTE.length];
  const ax=chart(id,[{values:rows.map(p=>[p.t,0]),hidden:true},{values:rows.map(p=>[p.t,1]),hidden:true}],{yMin:0,yMax:1,fmt:v=>(v*100).toFixed(0)+"%",xd});
  let base=rows.map(()=>0);let paths="";
  methods.forEach((m,i)=>{
    const top=rows.map((p,j)=>base[j]+(p.interval.methods[m]||0)/p.interval.messages);
    const up=rows.map((p,j)=>`${ax.X(p.t).toFixed(1)} ${ax.Y(top[j]).toFixed(1)}`);
    const dn=rows.map((p,j)=>`${ax.X(p.t).toFixed(1)} ${ax.Y(base[j]).toFixed(1)}`).reverse();
    if(rows.length===1){  // one interval: a bar around its point, inside the plot
      const x=ax.X(rows[0].t),xa=Math.max(ax.L,x-8),xb=Math.min(ax.Rx,x+8);
      up.splice(0,1,`${xa} ${ax.Y(top[0])}`,`${xb} ${ax.Y(top[0])}`);dn.splice(0,1,`${xb} ${ax.Y(base[0])}`,`${xa} ${ax.Y(base[0])}`);}
    paths+=`<path d="M${up.join(" L")} L${dn.join(" L")} Z" fill="${col(m,i)}" fill-opacity="0.85"/>`;
    base=top;
  });
  svg.innerHTML=paths+svg.innerHTML;
  legend("lg-methods",methods.map((m,i)=>[m,col(m,i)]));
}
// -- cluster section: one row per replica (health.cluster, from aura_wire.cluster.view.aggregate) --
function renderCluster(c){
  const card=document.getElementById("cluster-card");if(!c){card.style.display="none";return;}
  card.style.display="";const ids=Object.keys(c.dictionaries||{});
  document.getElementById("cluster-sum").textContent=`${c.count} replica(s) \u00b7 ${c.connections.open} open connections \u00b7 ${c.total.messages.toLocaleString()} messages \u00b7 ratio ${c.total.ratio.toFixed(2)}\u00d7 \u00b7 ${ids.length>1?"rollout in progress ("+ids.length+" dictionaries)":"one dictionary"}${c.stale?" \u00b7 store unreachable: this replica only":""}`;
  document.getElementById("cluster").innerHTML="<tr><th>replica</th><th>status</th><th>dictionary</th><th>connections</th><th>messages</th><th>ratio</th><th>savings</th><th>broadcast encodes</th><th>enc p95</th><th>seen</th></tr>"+
    c.replicas.map(r=>`<tr><td>${esc(r.replica)}</td><td><span class="sev sev-${esc(r.status)}">${esc(r.status)}</span></td><td>${esc((r.dictionary||"none").slice(0,12))}</td><td>${r.connections.toLocaleString()}</td><td>${r.messages.toLocaleString()}</td><td>${r.ratio.toFixed(2)}\u00d7</td><td>${(r.savings*100).toFixed(1)}%</td><td>${r.broadcast_encodes.toLocaleString()}</td><td>${fmtUs(r.encode_p95)}</td><td>${r.age_seconds.toFixed(0)} s ago</td></tr>`).join("");
}
function render(health,series){
  renderCluster(health.cluster||null);
  const m=health.metrics,st=health.status,lat=m.latency.encode;
  const b=document.getElementById("status");b.textContent=st;b.className="badge b-"+st;
  document.getElementById("updated").textContent="updated "+new Date().toTimeString().slice(0,8)+" \u00b7 "+m.messages.toLocaleString()+" messages";
  const db=m.dictionary_bytes||{inband:0,http:0};
  const vd=m.vs_deflate||{ratio:0,messages:0};
  const tiles=[["vs permessage-deflate",vd.messages?vd.ratio.toFixed(2)+"\u00d7 fewer bytes":"no sample yet"],["Ratio (all bytes)",m.ratio.toFixed(2)+"\u00d7"],["Data frames only",(m.data_ratio||0).toFixed(2)+"\u00d7"],["Savings",(m.savings*100).toFixed(1)+"%"],["Bytes saved",fmtBytes(m.bytes_saved)],
    ["Control frames",fmtBytes(m.control_bytes||0)],["Dictionary transfers",fmtBytes(db.inband)+" in-band \u00b7 "+fmtBytes(db.http)+" HTTP"],
    ["Template hits",(m.template_hit_rate*100).toFixed(1)+"%"],["Expansions",(m.expansion_rate*100).toFixed(2)+"%"],["Encode p95",fmtUs(lat.p95)]];
  const cn=health.connections;if(cn)tiles.unshift(["Connections AURA / plain",`${cn.open_aura.toLocaleString()} / ${(cn.open-cn.open_aura).toLocaleString()}`]);
  document.getElementById("tiles").innerHTML=tiles.map(([k,v])=>`<div class="tile"><div class="k">${k}</div><div class="v">${esc(v)}</div></div>`).join("");
  const al=health.alerts;document.getElementById("alerts").innerHTML=al.length?al.map(a=>`<li><span class="sev sev-${esc(a.severity)}">${esc(a.severity)}</span>${esc(a.message)}</li>`).join(""):"<li>no alerts</li>";
  const arms=health.arms||null,ac=document.getElementById("arms-card");
  document.getElementById("alerts-card").style.gridColumn=arms?"":"1 / -1";
  if(arms){ac.style.display="";document.getElementById("arms").innerHTML="<tr><th>arm</th><th>status</th><th>messages</th><th>ratio</th><th>savings</th><th>templates</th><th>enc p95</th></tr>"+
    Object.entries(arms).map(([k,a])=>{const x=a.metrics;return `<tr><td>${esc(k)}</td><td><span class="sev sev-${esc(a.status)}">${esc(a.status)}</span></td><td>${x.messages.toLocaleString()}</td><td>${x.ratio.toFixed(2)}\u00d7</td><td>${(x.savings*100).toFixed(1)}%</td><td>${(x.template_hit_rate*100).toFixed(1)}%</td><td>${fmtUs(x.latency.encode.p95)}</td></tr>`;}).join("");}
  else{ac.style.display="none";}
  const P=series.points||[],T=health.targets||{},xd=timeDomain(P,series.interval);
  const cum=(p,v)=>p.messages>0?v:null;  // no cumulative value before the first message (was drawn as 0)
  chart("c-ratio",[{values:P.map(p=>[p.t,p.interval.ratio]),color:"#2563eb"},{values:P.map(p=>[p.t,cum(p,p.ratio)]),color:"#111827",dash:true,width:1.5}],
    {fmt:v=>num(v)+"\u00d7",ref:T.min_ratio,refLabel:"target "+T.min_ratio+"\u00d7",xd});
  legend("lg-ratio",[["per interval","#2563eb"],["cumulative","#111827"]]);
  chart("c-savings",[{values:P.map(p=>[p.t,p.interval.savings===null?null:p.interval.savings*100]),color:"#059669"},{values:P.map(p=>[p.t,cum(p,p.savings*100)]),color:"#111827",dash:true,width:1.5}],
    {fmt:v=>v.toFixed(0)+"%",yMax:100,ref:T.min_savings*100,refLabel:"target "+(T.min_savings*100).toFixed(0)+"%",xd});
  legend("lg-savings",[["per interval","#059669"],["cumulative","#111827"]]);
  chart("c-vsd",[{values:P.map(p=>[p.t,p.interval.vs_deflate===undefined?null:p.interval.vs_deflate]),color:"#7c3aed"},{values:P.map(p=>[p.t,p.vs_deflate===undefined?null:p.vs_deflate]),color:"#111827",dash:true,width:1.5}],
    {fmt:v=>num(v)+"\u00d7",ref:1,refLabel:"permessage-deflate",xd});
  legend("lg-vsd",[["per interval","#7c3aed"],["cumulative","#111827"]]);
  stacked("c-methods",P,xd);
  const LP=P.filter(p=>p.interval.messages>0);
  const p95t=T.max_p95_encode_seconds;
  const big=Math.max(0,...LP.map(p=>p.interval.encode_p99))>=2e-3||(p95t>=2e-3&&Math.max(0,...LP.map(p=>p.interval.encode_p95))*4>=p95t),k=big?1e3:1e6,unit=big?" ms":" \u00b5s";
  chart("c-latency",[{values:LP.map(p=>[p.t,p.interval.encode_p50*k]),color:"#059669"},{values:LP.map(p=>[p.t,p.interval.encode_p95*k]),color:"#ea580c"},{values:LP.map(p=>[p.t,p.interval.encode_p99*k]),color:"#b91c1c",dash:true}],
    {fmt:v=>(big?num(v):v.toFixed(0))+unit,ref:p95t===undefined||p95t===null?undefined:p95t*k,refLabel:"p95 target "+(p95t>0?fmtUs(p95t):""),xd});
  legend("lg-latency",[["p50","#059669"],["p95","#ea580c"],["p99","#b91c1c"]]);
}
const init=JSON.parse(document.getElementById("aura-initial").textContent);
render(init.health,init.series);
async function poll(){
  try{const [h,s]=await Promise.all([fetch(CFG.health).then(r=>r.json()),fetch(CFG.series).then(r=>r.json())]);render(h,s);}catch(e){document.getElementById("updated").textContent="update failed: "+e;}
}
if(CFG.refresh>0)setInterval(poll,CFG.refresh*1000);
</script></body></html>
"""


def _js_json(value: Any) -> str:
    """JSON safe inside a <script> element (no "</" can close it)."""
    return json.dumps(value, separators=(",", ":")).replace("</", "<\\/").replace("<!--", "<\\!--")


def render_dashboard(
    health: dict[str, Any],
    series: dict[str, Any],
    *,
    series_url: str,
    health_url: str,
    refresh: float = 5.0,
    title: str = "aura_wire dashboard",
) -> str:
    """The dashboard page with ``health`` and ``series`` embedded as initial data."""
    return (
        _PAGE.replace("__TITLE__", html.escape(title))
        .replace("__SERIES_URL__", _js_json(series_url))
        .replace("__HEALTH_URL__", _js_json(health_url))
        .replace("__REFRESH__", _js_json(float(refresh)))
        .replace("__INITIAL__", _js_json({"health": health, "series": series}))
    )
