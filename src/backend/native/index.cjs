// Loads the compiled addon, or throws an Error whose message says why it is unavailable.
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const addonPath = path.join(__dirname, 'build', 'Release', 'geodesic_native.node');

function load() {
  if (!fs.existsSync(addonPath)) {
    const log = path.join(__dirname, 'build-error.log');
    const why = fs.existsSync(log) ? `${fs.readFileSync(log, 'utf8').split('\n')[0]}; see ${log}` : 'run `npm rebuild geodesic-native`';
    throw new Error(`geodesic-native addon is not built (${why})`);
  }
  return require(addonPath);
}

module.exports = load();
