/** @jsxImportSource hono/jsx */
import { Hono } from 'hono';
import type { AppEnv } from '../env.js';

export const dashboardPages = new Hono<AppEnv>();

/** Styles of these pages, appended to /assets/app.css. */
export const dashboardCss = ``;
