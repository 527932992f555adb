// The views' one stylesheet, injected once per document. Only HTML parts are styled here; SVG
// marks carry presentation attributes so exported SVG looks the same outside the page.

const STYLE_ID = 'mx-viz-style';

const CSS = `
.mx-view{font:11px/1.35 system-ui,-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;color:#1b1e23;position:relative;box-sizing:border-box;max-width:100%}
.mx-view svg{display:block;overflow:visible;font:10px system-ui,-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif}
.mx-header{display:flex;align-items:center;gap:8px;margin:0 0 4px;min-height:20px}
.mx-title{font-weight:600;font-size:12px}
.mx-toolbar{margin-left:auto;display:flex;gap:3px;opacity:.55;transition:opacity .15s}
.mx-view:hover .mx-toolbar{opacity:1}
.mx-toolbar button{font:inherit;font-size:10px;padding:1px 6px;border:1px solid #d0d4da;background:#fff;border-radius:3px;color:#333;cursor:pointer}
.mx-toolbar button:hover{background:#f2f4f7}
.mx-legend{display:flex;flex-wrap:wrap;gap:3px 10px;margin:0 0 6px;font-size:10px;color:#333}
.mx-legend-item{display:inline-flex;align-items:center;gap:4px}
.mx-swatch{display:inline-block;width:10px;height:10px;border-radius:2px}
.mx-body{overflow:auto;max-height:var(--mx-max-height,360px);position:relative;contain:content}
.mx-hint{color:#6b7280;font-style:italic;padding:14px 2px}
.mx-hidden{display:none!important}
.mx-tooltip{position:absolute;left:0;top:0;pointer-events:none;background:rgba(255,255,255,.97);border:1px solid #c9ced6;border-radius:4px;padding:4px 7px;box-shadow:0 2px 6px rgba(0,0,0,.12);white-space:pre;z-index:20;font-size:11px;line-height:1.4;max-width:420px;overflow:hidden;text-overflow:ellipsis}
.mx-strip{line-height:1.95;font-size:12px;padding:2px 0;word-break:normal}
.mx-token{display:inline}
.mx-chip{display:inline-block;white-space:pre;padding:0 2px;margin:1px 1px 2px 0;border-radius:2px;border-bottom:4px solid transparent;line-height:1.45;cursor:default;max-width:100%;overflow-wrap:anywhere;vertical-align:top}
.mx-chip.mx-generated{font-style:italic}
.mx-chip.mx-partial{opacity:.7}
.mx-chip.mx-hover{outline:2px solid #111;outline-offset:0}
.mx-grid{display:flex;flex-wrap:wrap;gap:10px}
.mx-kv-group{border:1px solid #e1e4e8;border-radius:4px;padding:4px 6px 6px}
.mx-kv-label{font-size:10px;color:#555;margin:0 0 3px}
.mx-kv-heads{display:flex;gap:6px}
.mx-head-cell{cursor:pointer;text-align:center;font-size:10px;color:#333;border:2px solid transparent;border-radius:3px;padding:1px}
.mx-head-cell:hover{border-color:#c9ced6}
.mx-head-cell.mx-selected{border-color:#111}
.mx-head-cell canvas{display:block;image-rendering:pixelated;background:#fff}
.mx-map-wrap{position:relative}
.mx-map-wrap canvas{position:absolute;image-rendering:pixelated}
.mx-view [data-expert]{cursor:pointer}
`;

/** Add the stylesheet to `doc` unless it is there already (the check is the DOM, not a module flag). */
export function ensureStyles(doc: Document = document): void {
  if (doc.getElementById(STYLE_ID)) return;
  const style = doc.createElement('style');
  style.id = STYLE_ID;
  style.textContent = CSS;
  doc.head.appendChild(style);
}
