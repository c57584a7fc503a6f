// Source: https://github.com/grafana/k6/blob/87883075ccd5e3d3fb961a860b3d6e422bbc353b/examples/crypto.js
// Licence: AGPL-3.0-only; see tests/corpus/NOTICE.md.
// Changed for the corpus: URLs point at the loopback stand-in at run time (tests/corpus/standin.py).
import crypto from 'k6/crypto';

export default function() {
    // Shorthand API
    let hash = crypto.sha1("some text", "hex");
    console.log(hash);

    // Flexible API
    let hasher = crypto.createHash("sha1")
    hasher.update("some other text")
    console.log(hasher.digest("hex"))
    console.log(hasher.digest("base64"))
}
