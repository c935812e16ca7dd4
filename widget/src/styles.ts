// The widget's stylesheet. It lives in the shadow root, so it cannot leak out and page CSS cannot
// reach in; `:host { all: initial }` also stops the page's inherited styles (fonts, colours, sizes).
export const CSS = `
:host{all:initial}
.cw{--cw-primary:#1d4ed8;--cw-on-primary:#fff;--cw-text:#111827;--cw-bg:#fff;--cw-bot:#f3f4f6;--cw-radius:12px;
font-family:var(--cw-font,system-ui,-apple-system,"Segoe UI",Roboto,sans-serif);font-size:15px;line-height:1.45;
color:var(--cw-text);box-sizing:border-box;text-align:start;-webkit-font-smoothing:antialiased}
.cw *,.cw *::before,.cw *::after{box-sizing:inherit}
.cw button{font:inherit;cursor:pointer}
.cw-launcher{position:fixed;bottom:20px;right:20px;width:56px;height:56px;border-radius:50%;border:0;padding:0;
background:var(--cw-primary);color:var(--cw-on-primary);box-shadow:0 4px 14px rgba(0,0,0,.25);display:flex;
align-items:center;justify-content:center;z-index:2147483000;transition:transform .15s}
.cw-launcher:hover{transform:scale(1.05)}
.cw-launcher svg{width:28px;height:28px;fill:currentColor}
.cw-launcher img{width:100%;height:100%;border-radius:50%;object-fit:cover}
.cw[data-position=left] .cw-launcher{left:20px;right:auto}
.cw-window{position:fixed;bottom:88px;right:20px;width:370px;height:min(600px,calc(100vh - 110px));
background:var(--cw-bg);border-radius:var(--cw-radius);box-shadow:0 10px 40px rgba(0,0,0,.25);display:flex;
flex-direction:column;overflow:hidden;z-index:2147483000}
.cw[data-position=left] .cw-window{left:20px;right:auto}
.cw-window[hidden]{display:none}
.cw--inline .cw-window{position:relative;bottom:auto;right:auto;left:auto;width:100%;height:100%;min-height:420px;
box-shadow:none;border:1px solid #d1d5db;z-index:auto}
@media (max-width:480px){.cw:not(.cw--inline) .cw-window{top:0;bottom:0;left:0;right:0;width:100%;height:100%;
border-radius:0}}
.cw-header{background:var(--cw-primary);color:var(--cw-on-primary);padding:12px 14px;display:flex;gap:10px;
align-items:center}
.cw-avatar{width:34px;height:34px;border-radius:50%;object-fit:cover;flex:none}
.cw-heading{min-width:0}
.cw-title{font-size:16px;font-weight:600;margin:0;line-height:1.3}
.cw-subtitle{font-size:13px;margin:0;opacity:.92}
.cw-close{margin-inline-start:auto;flex:none;background:transparent;border:0;color:inherit;width:36px;height:36px;
border-radius:8px;display:flex;align-items:center;justify-content:center}
.cw-close svg{width:20px;height:20px;fill:currentColor}
.cw-messages{flex:1;overflow-y:auto;padding:14px;display:flex;flex-direction:column;gap:10px;
overscroll-behavior:contain}
.cw-welcome{font-size:13px;color:#4b5563;text-align:center;margin:0 8px 4px}
.cw-msg{display:flex;flex-direction:column;align-items:flex-start;max-width:85%}
.cw-msg--user{align-self:flex-end;align-items:flex-end}
.cw-bubble{padding:9px 13px;border-radius:calc(var(--cw-radius) + 2px);overflow-wrap:anywhere;max-width:100%}
.cw-msg--user .cw-bubble{background:var(--cw-primary);color:var(--cw-on-primary);white-space:pre-wrap}
.cw-msg--bot .cw-bubble,.cw-msg--fallback .cw-bubble{background:var(--cw-bot);color:var(--cw-text)}
.cw-msg--fallback .cw-bubble{border-inline-start:3px solid #b45309}
.cw-msg--failed .cw-bubble{opacity:.7}
.cw-bubble p{margin:0 0 .5em}.cw-bubble p:last-child{margin-bottom:0}
.cw-bubble ul,.cw-bubble ol{margin:0 0 .5em;padding-inline-start:1.3em}
.cw-bubble pre{overflow:auto;background:#111827;color:#f9fafb;padding:8px 10px;border-radius:6px;margin:0 0 .5em;
font-size:13px}
.cw-bubble code{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:.9em}
.cw-bubble a{color:inherit;text-decoration:underline}
.cw-feedback{display:flex;gap:4px;margin-top:4px}
.cw-feedback button{border:1px solid #d1d5db;background:#fff;color:#374151;border-radius:6px;padding:3px 6px;
display:flex;align-items:center}
.cw-feedback svg{width:14px;height:14px;fill:currentColor}
.cw-feedback button+button svg{transform:rotate(180deg)}
.cw-feedback button[aria-pressed=true]{background:var(--cw-primary);color:var(--cw-on-primary);
border-color:var(--cw-primary)}
.cw-typing{align-self:flex-start;background:var(--cw-bot);border-radius:14px;padding:12px 14px;display:flex;gap:4px}
.cw-typing[hidden]{display:none}
.cw-typing span{width:7px;height:7px;border-radius:50%;background:#4b5563;animation:cw-bounce 1.2s infinite}
.cw-typing span:nth-child(2){animation-delay:.15s}.cw-typing span:nth-child(3){animation-delay:.3s}
@keyframes cw-bounce{0%,80%,100%{transform:translateY(0);opacity:.5}40%{transform:translateY(-4px);opacity:1}}
.cw-chips{display:flex;flex-wrap:wrap;gap:6px;padding:0 14px 8px}
.cw-chips[hidden]{display:none}
.cw-chip{border:1px solid var(--cw-primary);color:var(--cw-primary);background:var(--cw-bg);border-radius:999px;
padding:5px 11px;font-size:13px}
.cw-alert{margin:0 14px 8px;padding:8px 10px;border-radius:8px;background:#fef2f2;color:#991b1b;font-size:13px;
display:flex;gap:8px;align-items:center}
.cw-alert[hidden]{display:none}
.cw-retry{margin-inline-start:auto;flex:none;border:1px solid #991b1b;background:#fff;color:#991b1b;
border-radius:6px;padding:2px 8px;font-size:13px}
.cw-retry[hidden]{display:none}
.cw-form{display:flex;gap:8px;padding:10px 12px;border-top:1px solid #e5e7eb;align-items:flex-end;margin:0}
.cw-input{flex:1;resize:none;border:1px solid #6b7280;border-radius:10px;padding:9px 11px;font:inherit;
color:var(--cw-text);background:var(--cw-bg);max-height:120px;min-height:42px;height:42px;margin:0}
.cw-input::placeholder{color:#6b7280;opacity:1}
.cw-send{width:42px;height:42px;flex:none;border-radius:10px;border:0;background:var(--cw-primary);
color:var(--cw-on-primary);display:flex;align-items:center;justify-content:center;padding:0}
.cw-send svg{width:20px;height:20px;fill:currentColor}
.cw[dir=rtl] .cw-send svg{transform:scaleX(-1)}
.cw-send:disabled{opacity:.45;cursor:not-allowed}
.cw :focus-visible{outline:2px solid var(--cw-text);outline-offset:2px}
.cw-header :focus-visible,.cw-launcher:focus-visible,.cw-send:focus-visible,.cw-msg--user :focus-visible{
outline:2px solid var(--cw-on-primary);box-shadow:0 0 0 4px var(--cw-primary)}
.cw-sr{position:absolute;width:1px;height:1px;margin:-1px;padding:0;overflow:hidden;clip:rect(0 0 0 0);
white-space:nowrap;border:0}
@media (prefers-reduced-motion:reduce){.cw *{animation:none!important;transition:none!important}}
`;
