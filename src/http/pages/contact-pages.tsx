/** @jsxImportSource hono/jsx */
import { Hono } from 'hono';
import type { AppEnv } from '../env.js';

export const contactPages = new Hono<AppEnv>();

/** Styles of these pages, appended to /assets/app.css. */
export const contactsCss = ``;
