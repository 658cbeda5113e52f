// Node 20's fetch is built on its own undici; the undici 7 package (the proxy-pool checker's client) installs its
// Agent as the process-wide dispatcher if it loads first, and Node's fetch then fails ("invalid content-length
// header") — at start-up that broke the Solana rail's genesis-hash fetch. One call to fetch makes Node install its
// own first (test/support/setup.cjs does the same for the tests). Imported first by src/main.ts.
fetch('data:,').catch(() => {});
