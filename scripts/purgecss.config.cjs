// PurgeCSS settings for scripts/vendor-assets.sh: keep the rules of the USWDS stylesheet whose
// classes and elements appear in the templates or the browser modules, and drop the rest. tests/test_css_subset.py checks that
// every class the templates and scripts use is still in the subset.
module.exports = {
  content: ["app/templates/**/*.html", "app/static/js/**/*.js"],
  // USWDS's responsive utilities are escaped in the CSS (.tablet\:grid-col-6) and written
  // "tablet:grid-col-6" in a template: keep the colon inside a word.
  defaultExtractor: (content) => content.match(/[A-Za-z0-9_:-]+/g) || [],
  safelist: {
    standard: [
      /^usa-js-/, // uswds-init.min.js and the header's mobile menu set these on <html>/<body>
      /^is-/, // USWDS JavaScript marks open menus, overlays and loading states with is-*
      /^usa-alert--/, // chosen in a template from a variable: usa-alert--{{ … }}
      /^usa-overlay/, // the mobile menu's overlay, added by uswds.min.js
    ],
  },
  // Keep every @font-face, @keyframes and custom property: cheap, and referenced indirectly.
  fontFace: false,
  keyframes: false,
  variables: false,
};
