// Source: https://github.com/grafana/k6/blob/87883075ccd5e3d3fb961a860b3d6e422bbc353b/examples/logging.js
// Licence: AGPL-3.0-only; see tests/corpus/NOTICE.md.
// Changed for the corpus: URLs point at the loopback stand-in at run time (tests/corpus/standin.py).
export default function() {
	console.log("log", "a", "b");
	console.debug("debug", "a", "b");
	console.info("info", "a", "b");
	console.warn("warn", "a", "b");
	console.error("error", "a", "b");
}
