// The page's main-thread tasks as a browser trace records them: for each task its wall-clock
// length (what the `longtask` API reports) and the time its thread actually ran (thread time).
// On a machine whose cores are shared, the renderer is pre-empted mid-task and a task of 10 ms of
// work can take 200 ms of wall-clock: the two figures side by side say which it was, the page's
// own work or the machine. Used by `npm run bench:site`.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';

export interface TaskFigures {
  /** Tasks over `limitMs` of wall-clock, and over `limitMs` of thread time. */
  overWall: number;
  overThread: number;
  longestWallMs: number;
  longestThreadMs: number;
  /** Tasks on the main thread within the span, all lengths. */
  tasks: number;
}

interface TraceEvent { name: string; ph: string; pid: number; tid: number; ts: number; dur?: number; tdur?: number; args?: { name?: string } }

const CATEGORIES = ['devtools.timeline', 'disabled-by-default-devtools.timeline', 'blink.user_timing', 'toplevel'];

/** Starts tracing `page`'s browser; `stop()` ends it and returns the events. */
export async function startTrace(browser: Browser, page: Page): Promise<{ stop(): Promise<TraceEvent[]> }> {
  const dir = mkdtempSync(path.join(tmpdir(), 'mixscope-trace-'));
  const file = path.join(dir, 'trace.json');
  await browser.startTracing(page, { path: file, categories: CATEGORIES });
  return {
    async stop() {
      await browser.stopTracing();
      try { return (JSON.parse(readFileSync(file, 'utf8')) as { traceEvents: TraceEvent[] }).traceEvents; } finally { rmSync(dir, { recursive: true, force: true }); }
    },
  };
}

/**
 * Main-thread tasks of the page between the marks `from` and `to` (performance.mark in the page).
 * The page's main thread is the renderer main thread that recorded the marks.
 */
export function tasksBetweenMarks(events: readonly TraceEvent[], from: string, to: string, limitMs = 50): TaskFigures {
  const start = events.find((e) => e.name === from), end = events.find((e) => e.name === to);
  if (!start || !end) throw new Error(`the trace has no ${!start ? from : to} mark`);
  const pid = start.pid;
  const mains = new Set(events.filter((e) => e.ph === 'M' && e.name === 'thread_name' && e.pid === pid && e.args?.name === 'CrRendererMain').map((e) => e.tid));
  const tasks = events.filter((e) => e.ph === 'X' && e.name === 'RunTask' && e.pid === pid && mains.has(e.tid) && e.ts + (e.dur ?? 0) >= start.ts && e.ts <= end.ts);
  const wall = tasks.map((t) => (t.dur ?? 0) / 1000), thread = tasks.map((t) => (t.tdur ?? t.dur ?? 0) / 1000);
  return {
    overWall: wall.filter((d) => d > limitMs).length,
    overThread: thread.filter((d) => d > limitMs).length,
    longestWallMs: Math.max(0, ...wall),
    longestThreadMs: Math.max(0, ...thread),
    tasks: tasks.length,
  };
}
