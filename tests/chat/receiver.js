// Loopback stand-ins for a Microsoft Teams incoming webhook and a Slack
// incoming webhook, for uptake's tests. Each request is checked the way
// the service documents it, recorded (one JSON line per request in the
// file given), and answered as the service answers: 200 when the message
// is accepted, 400 naming the problems when not.
//
//   node receiver.js PORT RECORD_FILE
//
//   POST /teams/...  a message with an Adaptive Card: the envelope
//                    (type "message", one attachment of content type
//                    application/vnd.microsoft.card.adaptive), the card
//                    parsed and validated by Microsoft's Adaptive Cards
//                    SDK (npm "adaptivecards"), version 1.4 or later, and
//                    at most 28 KB in all.
//   POST /slack/...  Block Kit: at most 50 blocks of known types, header
//                    text plain and at most 150 characters, section text
//                    at most 3000, at most 10 fields of 2000, context at
//                    most 10 elements, actions at most 25, button text
//                    plain and at most 75, URLs at most 3000, a top-level
//                    text (the notification) present.
//   POST /fail/...   answers 503 (a receiver that is down).
"use strict";
const http = require("http");
const fs = require("fs");
const AC = require("adaptivecards/dist/adaptivecards.js");

const [port, recordFile] = process.argv.slice(2);

function teamsProblems(body, raw) {
  const p = [];
  if (raw.length > 28 * 1024) p.push(`message is ${raw.length} bytes; Teams takes at most 28 KB`);
  if (body.type !== "message") p.push('type must be "message"');
  const att = body.attachments;
  if (!Array.isArray(att) || att.length !== 1) return p.concat("exactly one attachment expected");
  if (att[0].contentType !== "application/vnd.microsoft.card.adaptive")
    p.push("attachment contentType must be application/vnd.microsoft.card.adaptive");
  const json = att[0].content;
  if (!json || json.type !== "AdaptiveCard") return p.concat('content.type must be "AdaptiveCard"');
  const [major, minor] = String(json.version || "").split(".").map(Number);
  if (!(major > 1 || (major === 1 && minor >= 4))) p.push(`card version ${json.version}: 1.4 or later expected`);
  const card = new AC.AdaptiveCard();
  const ctx = new AC.SerializationContext();
  card.parse(json, ctx);
  for (let i = 0; i < ctx.eventCount; i++) p.push("parse: " + ctx.getEventAt(i).message);
  for (const e of card.validateProperties().validationEvents) p.push("validate: " + e.message);
  return p;
}

const SLACK_BLOCKS = new Set(["header", "section", "context", "actions", "divider", "image", "rich_text", "input", "file", "video"]);

function text(obj, where, max, p, plainOnly) {
  if (!obj || typeof obj.text !== "string") return p.push(`${where}: text object expected`);
  if (plainOnly && obj.type !== "plain_text") p.push(`${where}: plain_text expected`);
  if (!["plain_text", "mrkdwn"].includes(obj.type)) p.push(`${where}: type ${obj.type}`);
  if ([...obj.text].length > max) p.push(`${where}: ${[...obj.text].length} characters, at most ${max}`);
  if (obj.text.length === 0) p.push(`${where}: empty text`);
}

function slackProblems(body) {
  const p = [];
  if (typeof body.text !== "string" || body.text.length === 0) p.push("a top-level text is expected (the notification)");
  const blocks = body.blocks || [];
  if (!Array.isArray(blocks)) return p.concat("blocks must be an array");
  if (blocks.length > 50) p.push(`${blocks.length} blocks; at most 50`);
  blocks.forEach((b, i) => {
    const w = `blocks[${i}]`;
    if (!SLACK_BLOCKS.has(b.type)) return p.push(`${w}: unknown type ${b.type}`);
    if (b.block_id && b.block_id.length > 255) p.push(`${w}: block_id too long`);
    if (b.type === "header") text(b.text, w, 150, p, true);
    if (b.type === "section") {
      if (!b.text && !b.fields) p.push(`${w}: text or fields expected`);
      if (b.text) text(b.text, w, 3000, p, false);
      if (b.fields) {
        if (b.fields.length > 10) p.push(`${w}: more than 10 fields`);
        b.fields.forEach((f, j) => text(f, `${w}.fields[${j}]`, 2000, p, false));
      }
    }
    if (b.type === "context") {
      if (!Array.isArray(b.elements) || b.elements.length === 0 || b.elements.length > 10) p.push(`${w}: 1 to 10 elements`);
      else b.elements.forEach((e, j) => text(e, `${w}.elements[${j}]`, 3000, p, false));
    }
    if (b.type === "actions") {
      if (!Array.isArray(b.elements) || b.elements.length === 0 || b.elements.length > 25) p.push(`${w}: 1 to 25 elements`);
      else b.elements.forEach((e, j) => {
        const we = `${w}.elements[${j}]`;
        if (e.type !== "button") return;
        text(e.text, we, 75, p, true);
        if (e.url && e.url.length > 3000) p.push(`${we}: url longer than 3000`);
      });
    }
  });
  return p;
}

http.createServer((req, res) => {
  const chunks = [];
  req.on("data", (c) => chunks.push(c));
  req.on("end", () => {
    const raw = Buffer.concat(chunks).toString("utf8");
    let body = null;
    let problems = [];
    try { body = JSON.parse(raw); } catch (e) { problems.push("not JSON: " + e.message); }
    let kind = req.url.split("/")[1];
    if (kind === "fail") {
      res.writeHead(503); res.end("down");
    } else {
      if (body && kind === "teams") problems = problems.concat(teamsProblems(body, raw));
      else if (body && kind === "slack") problems = problems.concat(slackProblems(body));
      else if (body) problems.push("unknown receiver " + req.url);
      if (problems.length) { res.writeHead(400); res.end(kind === "slack" ? "invalid_blocks" : problems.join("; ")); }
      else { res.writeHead(200); res.end(kind === "slack" ? "ok" : "1"); }
    }
    fs.appendFileSync(recordFile, JSON.stringify({
      path: req.url, key: req.headers["idempotency-key"] || null, ok: problems.length === 0 && kind !== "fail", problems, body,
    }) + "\n");
  });
}).listen(Number(port), "127.0.0.1", () => console.log("listening"));
