// Contrast as the page shows it, from getComputedStyle: what axe leaves out or cannot see
// (the browser's canvas colour in dark mode, placeholders, input borders, focus rings).
// Called by tests/e2e/checks.py with page.evaluate(source, {task, dark}):
//   task "colours": every problem with visible text and controls, as a list of strings;
//   task "focus": the focused element's ring, or null when nothing is focused.
({ task, dark }) => {
  const TEXT = 4.5; // WCAG 1.4.3, asked of all text and controls here
  const NON_TEXT = 3; // WCAG 1.4.11 and 2.4.13: borders, checkmarks, focus rings
  // Chromium's canvas behind `color-scheme: light dark` pages that paint none of their own.
  const canvas = dark ? [18, 18, 18, 1] : [255, 255, 255, 1];

  const parse = (text) => {
    let match = text.match(/^rgba?\(([^)]*)\)$/);
    if (match) {
      const p = match[1].split(/[\s,/]+/).filter(Boolean).map(parseFloat);
      return [p[0], p[1], p[2], p.length > 3 ? p[3] : 1];
    }
    match = text.match(/^color\(srgb ([^)]*)\)$/);
    if (match) {
      const p = match[1].split(/[\s/]+/).filter(Boolean).map(parseFloat);
      return [p[0] * 255, p[1] * 255, p[2] * 255, p.length > 3 ? p[3] : 1];
    }
    return null;
  };
  const over = (top, bottom) => {
    const alpha = top[3] + bottom[3] * (1 - top[3]);
    if (alpha === 0) return [0, 0, 0, 0];
    const mix = (i) => (top[i] * top[3] + bottom[i] * bottom[3] * (1 - top[3])) / alpha;
    return [mix(0), mix(1), mix(2), alpha];
  };
  const luminance = (colour) => {
    const [r, g, b] = colour.slice(0, 3).map((value) => {
      const v = value / 255;
      return v <= 0.04045 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
    });
    return 0.2126 * r + 0.7152 * g + 0.0722 * b;
  };
  const ratio = (a, b) => {
    const [light, darker] = [luminance(a), luminance(b)].sort((x, y) => y - x);
    return (light + 0.05) / (darker + 0.05);
  };
  // The colour behind an element: its own background and its ancestors', down to the canvas.
  const background = (element) => {
    const layers = [];
    for (let e = element; e; e = e.parentElement) {
      const colour = parse(getComputedStyle(e).backgroundColor);
      if (colour && colour[3] > 0) {
        layers.push(colour);
        if (colour[3] >= 1) break;
      }
    }
    return layers.reduceRight((below, layer) => over(layer, below), canvas);
  };
  const opacity = (element) => {
    let value = 1;
    for (let e = element; e; e = e.parentElement) value *= parseFloat(getComputedStyle(e).opacity);
    return value;
  };
  // A foreground colour as painted: faded by the element's opacity over its background.
  const painted = (text, element, behind) => {
    const colour = parse(text);
    if (!colour) return null;
    colour[3] *= opacity(element);
    return over(colour, behind);
  };
  const shown = (element) => {
    const style = getComputedStyle(element);
    if (style.display === "none" || style.visibility !== "visible") return false;
    const box = element.getBoundingClientRect();
    return box.width > 1 && box.height > 1;
  };
  const describe = (element) => {
    const name = (element.getAttribute("aria-label") || element.textContent || element.value || "")
      .replace(/\s+/g, " ")
      .trim()
      .slice(0, 40);
    const classes = element.classList.length ? `.${[...element.classList].join(".")}` : "";
    return `<${element.tagName.toLowerCase()}${classes}> "${name}"`;
  };
  const hex = (colour) =>
    `#${colour
      .slice(0, 3)
      .map((v) => Math.round(v).toString(16).padStart(2, "0"))
      .join("")}`;

  if (task === "focus") {
    const element = document.activeElement;
    if (!element || element === document.body || element === document.documentElement) {
      return null;
    }
    const style = getComputedStyle(element);
    const behind = background(element.parentElement || element);
    const ring = painted(style.outlineColor, element, behind);
    const seen = (window.__contrastSeen = window.__contrastSeen || new WeakSet());
    const again = seen.has(element);
    seen.add(element);
    return {
      element: describe(element),
      again,
      focusVisible: element.matches(":focus-visible"),
      style: style.outlineStyle,
      width: parseFloat(style.outlineWidth) || 0,
      ratio: ring ? ratio(ring, behind) : 0,
      colours: ring ? `${hex(ring)} on ${hex(behind)}` : style.outlineColor,
      minimum: NON_TEXT,
    };
  }

  const problems = [];
  const check = (element, what, foreground, behind, minimum) => {
    const colour = painted(foreground, element, behind);
    if (!colour) {
      problems.push(`${describe(element)}: unreadable ${what} colour ${foreground}`);
      return;
    }
    const value = ratio(colour, behind);
    if (value < minimum) {
      problems.push(
        `${describe(element)}: ${what} ${hex(colour)} on ${hex(behind)} is ` +
          `${value.toFixed(2)}:1, below ${minimum}:1`,
      );
    }
  };
  const hasText = (element) =>
    [...element.childNodes].some((n) => n.nodeType === Node.TEXT_NODE && n.textContent.trim());
  const controls = "button, input:not([type=hidden]), select, textarea, a[href], summary";

  for (const element of document.body.querySelectorAll("*")) {
    if (!shown(element)) continue;
    const isControl = element.matches(controls);
    if (!isControl && !hasText(element)) continue;
    const style = getComputedStyle(element);
    const behind = background(element);
    if (element.matches("input[type=checkbox], input[type=radio]")) {
      // Chromium draws these in the accent colour; "auto" is its own, readable pair.
      if (style.accentColor !== "auto") {
        check(element, "accent", style.accentColor, background(element.parentElement), NON_TEXT);
      }
      continue;
    }
    check(element, "text", style.color, behind, TEXT);
    if (element.matches("input, textarea, select")) {
      const outside = background(element.parentElement);
      check(element, "border", style.borderTopColor, outside, NON_TEXT);
      if (element.placeholder && !element.value) {
        check(element, "placeholder", getComputedStyle(element, "::placeholder").color, behind, TEXT);
      }
    }
  }
  return problems;
};
