// The expert legend: a swatch and "E0".."E{E-1}" per expert, redrawn in place when E changes.
import { select } from 'd3';
import { expertColor } from './palette.ts';
import { OTHER_EXPERT, type ExpertPaint } from './many-experts.ts';

/**
/**
 * Fill `container` with one swatch per expert (keyed, so repeated calls reuse the nodes), a note
 * on what the marks mean, and, where the view shows tokens the model wrote, the one mark that
 * says so in every view: italics. Only what changed is rewritten. With many experts
 * (`paint.many`), only the focus experts get a swatch, in their order, then one for all the others.
 */
export function renderExpertLegend(container: HTMLElement, E: number, note?: string, generated = false, paint?: ExpertPaint): void {
  const root = select(container).classed('mx-legend', true);
  const many = paint?.many === true;
  const items = many ? [...paint.focus, -1] : Array.from({ length: E }, (_, e) => e);
  const key = many ? `${E}:${paint.focus.join(',')}` : String(E);
  if (container.dataset.experts !== key) {
    container.dataset.experts = key;
    const color = (e: number) => (e < 0 ? OTHER_EXPERT : many ? paint.color(e) : expertColor(e, E));
    const label = (e: number) => (e < 0 ? `other ${E - paint!.focus.length} of ${E} experts` : `E${e}`);
    root.selectAll<HTMLSpanElement, number>('span.mx-legend-item')
      .data(items, (e) => String(e))
      .join((enter) => {
        const item = enter.append('span').attr('class', 'mx-legend-item');
        item.append('span').attr('class', 'mx-swatch');
        item.append('span').attr('class', 'mx-legend-label');
        return item;
      })
      .call((item) => item.select<HTMLSpanElement>('.mx-swatch').style('background', color))
      .call((item) => item.select<HTMLSpanElement>('.mx-legend-label').text(label))
      .order();
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
