// What tsbuild prints about a build (step names, statuses, errors, the Dockerfile line under an error) holds text the
// Dockerfile's, the context's or a registry's author wrote. A terminal acts on the control characters in it: an
// escape sequence can clear the screen, retitle the window, write the clipboard (OSC 52) or move the cursor to print
// over a line already shown (a RUN that looks harmless); a carriage return hides what came before it on its line.

/** Control characters a terminal acts on: C0 but tab and newline, DEL, and C1 (0x9b is a CSI of its own). */
const CONTROLS = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g;

/** `text` with every control character but newline and tab written out as `\u001b`, so a terminal shows it, not runs it. */
export function visibleText(text: string): string {
  return text.replace(CONTROLS, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

// CSI sequences (colours, cursor moves, erasing) and OSC strings (titles, clipboard, hyperlinks), ESC or C1 introduced.
const SEQUENCES = /(?:\u001b\[|\u009b)[0-?]*[ -/]*[@-~]|(?:\u001b\]|\u009d)[^\u0007\u001b\u009c]*(?:\u0007|\u001b\\|\u009c)?/g;

/**
 * One line of a step's output as the live display (`--progress tty`) shows it, inside the region it redraws: escape
 * sequences dropped (buildx renders them in a terminal emulator of its own there, never on the user's terminal), what
 * a carriage return wrote over dropped as a terminal would, other control characters written out. `--progress plain`
 * prints a step's output as it came, as buildx does.
 */
export function visibleLogLine(line: string): string {
  const text = line.endsWith('\r') ? line.slice(0, -1) : line;
  return visibleText(text.slice(text.lastIndexOf('\r') + 1).replace(SEQUENCES, ''));
}
