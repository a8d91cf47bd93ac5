// The accessibility checks run in each page (tests/browser/test_console.py): labels and contrast.
// Returns {unlabelled: [...], lowContrast: [...]} describing each failure.
() => {
  const out = {unlabelled: [], lowContrast: []};
  const visible = (el) => {
    const s = getComputedStyle(el);
    const r = el.getBoundingClientRect();
    return s.visibility !== "hidden" && s.display !== "none" && r.width > 0 && r.height > 0;
  };
  // Every form control a person can use has a label (a <label for>, a wrapping label, or aria).
  for (const el of document.querySelectorAll("input, select, textarea")) {
    if (el.type === "hidden" || !visible(el)) continue;
    const labelled = (el.labels && el.labels.length > 0) || el.getAttribute("aria-label")
      || el.getAttribute("aria-labelledby");
    if (!labelled) out.unlabelled.push(el.outerHTML.slice(0, 120));
  }
  const rgba = (text) => {
    const m = text.match(/rgba?\(([^)]+)\)/);
    if (!m) return null;
    const p = m[1].split(/[ ,/]+/).filter(Boolean).map(Number);
    return {r: p[0], g: p[1], b: p[2], a: p.length > 3 ? p[3] : 1};
  };
  const lum = (c) => {
    const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); };
    return 0.2126 * f(c.r) + 0.7152 * f(c.g) + 0.0722 * f(c.b);
  };
  const blend = (top, under) => ({
    r: top.r * top.a + under.r * (1 - top.a), g: top.g * top.a + under.g * (1 - top.a),
    b: top.b * top.a + under.b * (1 - top.a), a: 1});
  // The background behind an element: its own and its ancestors' colours, composed over white.
  const background = (el) => {
    const layers = [];
    for (let e = el; e && e.nodeType === 1; e = e.parentElement) {
      if (e instanceof SVGElement && !(e instanceof SVGSVGElement)) continue;
      const c = rgba(getComputedStyle(e).backgroundColor);
      if (c && c.a > 0) { layers.push(c); if (c.a >= 1) break; }
    }
    let colour = {r: 255, g: 255, b: 255, a: 1};
    for (const c of layers.reverse()) colour = blend(c, colour);
    return colour;
  };
  // Every element holding text of its own (HTML, and SVG <text> by its fill).
  for (const el of document.querySelectorAll("body *")) {
    const own = Array.from(el.childNodes).some((n) => n.nodeType === 3 && n.textContent.trim());
    if (!own || !visible(el) || el.closest("title")) continue;
    const style = getComputedStyle(el);
    const fg = rgba(el instanceof SVGElement ? style.fill : style.color);
    if (!fg) continue;
    const bg = background(el);
    const a = lum(blend(fg, bg)), b = lum(bg);
    const ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
    if (ratio < 4.5) {
      out.lowContrast.push(`${el.tagName.toLowerCase()} "${el.textContent.trim().slice(0, 40)}" ` +
                           `${ratio.toFixed(2)}:1`);
    }
  }
  return out;
}
