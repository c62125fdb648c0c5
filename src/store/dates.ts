const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const two = (n: number) => String(n).padStart(2, '0');

/** The current second's ctime(): every mail log line asks for it, a busy second hundreds of times. */
let thisSecond: { second: number; text: string } | undefined;

/** C's ctime() layout, as AsyncOS logs use it: `Wed Jul 20 19:47:40 2005` (local time). */
export function ctime(d?: Date): string {
  if (d) return format(d);
  const now = Date.now();
  const second = Math.floor(now / 1000);
  if (thisSecond?.second !== second) thisSecond = { second, text: format(new Date(now)) };
  return thisSecond.text;
}

function format(d: Date): string {
  const day = String(d.getDate()).padStart(2, ' ');
  const time = `${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())}`;
  return `${DAYS[d.getDay()]} ${MONTHS[d.getMonth()]} ${day} ${time} ${d.getFullYear()}`;
}

/** A time in the shell's output, as AsyncOS prints it: ctime() and the zone (`Tue Sep 22 09:05:00 2026 CEST`). */
export function shellTime(value: Date | string | number): string {
  const d = value instanceof Date ? value : new Date(value);
  if (Number.isNaN(d.getTime())) return String(value);
  const zone = new Intl.DateTimeFormat('en-US', { timeZoneName: 'short' }).formatToParts(d).find((p) => p.type === 'timeZoneName')?.value;
  return `${ctime(d)}${zone ? ` ${zone}` : ''}`;
}
