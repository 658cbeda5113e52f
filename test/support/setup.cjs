// Node 20's fetch is built on its own undici; the undici 7 package (used by tests as a real proxy
// client) installs its Agent as the process-wide dispatcher if it loads first, and Node's fetch then
// fails ("invalid content-length header"). One call to fetch makes Node install its own first.
fetch('data:,').catch(() => {});
