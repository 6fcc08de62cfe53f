// Service worker of an Edge AI Vision Studio web bundle (written by the export from sw.template.js).
// It precaches every file of the bundle, so after one visit the page opens and classifies offline.
// VERSION is the hash of the bundle's metadata, which lists the hash of every other file: a new export is a
// new sw.js, which the browser installs; it fills a new cache and deletes this bundle's older ones.
"use strict";

const VERSION = "__VERSION__";
const FILES = ["__FILES__"];
const PREFIX = `edge-studio:${self.registration.scope}:`;  // several bundles may share one origin
const CACHE = PREFIX + VERSION;

self.addEventListener("install", (event) => {
  event.waitUntil((async () => {
    const cache = await caches.open(CACHE);
    // "reload": straight from the server, never an HTTP-cached copy of an older export.
    await cache.addAll(["./", ...FILES].map((url) => new Request(url, { cache: "reload" })));
    await self.skipWaiting();
  })());
});

self.addEventListener("activate", (event) => {
  event.waitUntil((async () => {
    const names = await caches.keys();
    await Promise.all(names.filter((n) => n.startsWith(PREFIX) && n !== CACHE).map((n) => caches.delete(n)));
    await self.clients.claim();
  })());
});

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET" || new URL(request.url).origin !== self.location.origin) return;
  event.respondWith((async () => {
    const cache = await caches.open(CACHE);
    // The bundle's files take no query string; the page's own (?backend=...) must not miss the cache.
    const hit = await cache.match(request, { ignoreSearch: true });
    return hit || fetch(request);
  })());
});

self.addEventListener("message", (event) => {
  if (event.data === "version") event.source.postMessage({ version: VERSION });
});
