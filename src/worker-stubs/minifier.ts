/**
 * Stands in for mjml-core's minifiers (htmlnano, cssnano) in the Worker bundle: we never ask
 * MJML to minify, and those packages (with terser, svgo, postcss plugins) would add megabytes.
 * Aliased in wrangler.toml; on Node the real packages load as usual.
 */
export default function unavailable(): never {
  throw new Error('HTML/CSS minification is not bundled in the Worker: compile MJML without `minify`.');
}
