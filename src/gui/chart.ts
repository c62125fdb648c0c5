import { type HourCounts, TLS_OUTCOME_LABELS, TLS_OUTCOMES, type TlsOutcome } from '../control/status.js';

/** Colours per outcome: failures red, clear text amber, the stronger the check the deeper the green/blue. */
const COLOURS: Record<TlsOutcome, string> = {
  clear: '#d99a00',
  tls: '#8fb8de',
  verified: '#2e7d32',
  dane: '#1b5e20',
  'mta-sts': '#1565c0',
  failed: '#c62828',
};

export interface Bar {
  x: number;
  label: string;
  title: string;
  segments: { y: number; height: number; colour: string }[];
}

/**
 * A stacked bar per period (the last 24 hours, or a domain's last days), as numbers the template
 * draws as SVG (no script, no image library): bar heights scale to the busiest period.
 */
export function deliveryChart(hours: HourCounts[], size = { width: 720, height: 200 }, unit: 'hour' | 'day' = 'hour') {
  const total = (h: HourCounts) => TLS_OUTCOMES.reduce((n, o) => n + h[o], 0);
  const max = Math.max(1, ...hours.map(total));
  const slot = size.width / hours.length;
  const bars: Bar[] = hours.map((h, i) => {
    let y = size.height;
    const segments = TLS_OUTCOMES.filter((o) => h[o] > 0).map((o) => {
      const height = (h[o] / max) * (size.height - 10);
      y -= height;
      return { y, height, colour: COLOURS[o] };
    });
    const start = new Date(h.hour);
    const label = String(unit === 'hour' ? start.getUTCHours() : start.getUTCDate()).padStart(2, '0');
    const when = unit === 'hour' ? `${start.toISOString().slice(0, 13)}:00 UTC` : start.toISOString().slice(0, 10);
    const title = `${when} — ${TLS_OUTCOMES.map((o) => `${TLS_OUTCOME_LABELS[o]} ${h[o]}`).join(', ')}`;
    return { x: i * slot + 2, label, title, segments };
  });
  const totals = Object.fromEntries(TLS_OUTCOMES.map((o) => [o, hours.reduce((n, h) => n + h[o], 0)])) as Record<TlsOutcome, number>;
  return {
    ...size,
    barWidth: slot - 4,
    max,
    per: unit === 'hour' ? 'h' : 'day',
    bars,
    legend: TLS_OUTCOMES.map((o) => ({ label: TLS_OUTCOME_LABELS[o], colour: COLOURS[o], count: totals[o] })),
  };
}
