// The expert legend: a swatch and "E0".."E{E-1}" per expert, redrawn in place when E changes.
import { select } from 'd3';
import { expertColor } from './palette.ts';

/**
 * Fill `container` with one swatch per expert (keyed, so repeated calls reuse the nodes), a note
 * on what the marks mean, and, where the view shows tokens the model wrote, the one mark that
 * says so in every view: italics. Only what changed is rewritten.
 */
export function renderExpertLegend(container: HTMLElement, E: number, note?: string, generated = false): void {
  const root = select(container).classed('mx-legend', true);
  if (container.dataset.experts !== String(E)) {
    container.dataset.experts = String(E);
    root.selectAll<HTMLSpanElement, number>('span.mx-legend-item')
      .data(Array.from({ length: E }, (_, e) => e), (e) => String(e))
      .join((enter) => {
        const item = enter.append('span').attr('class', 'mx-legend-item');
        item.append('span').attr('class', 'mx-swatch');
        item.append('span').attr('class', 'mx-legend-label');
        return item;
      })
      .call((item) => item.select<HTMLSpanElement>('.mx-swatch').style('background', (e) => expertColor(e, E)))
      .call((item) => item.select<HTMLSpanElement>('.mx-legend-label').text((e) => `E${e}`));
  }
  const notes = root.selectAll<HTMLSpanElement, string>('span.mx-legend-note').data(note ? [note] : [])
    .join((enter) => enter.append('span').attr('class', 'mx-legend-note').style('color', '#6b7280'));
  notes.each(function (d) { if (this.textContent !== d) this.textContent = d; });
  root.selectAll<HTMLSpanElement, null>('span.mx-legend-generated').data(generated ? [null] : [])
    .join((enter) => {
      const s = enter.append('span').attr('class', 'mx-legend-generated').style('color', '#6b7280');
      s.append('i').style('color', '#1b1e23').text('italic');
      s.append('span').text(': tokens the model wrote');
      return s;
    });
}
