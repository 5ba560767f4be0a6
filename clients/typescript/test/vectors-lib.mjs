// Runs the spec vectors (spec/vectors/**) against the bundled decoder. Shared by the Node tests
// (test/vectors.test.mjs) and the Chromium run (test/browser.test.mjs): `io` reads the files,
// `lib` is the bundle, `codecs` the optional ZSTD/BROTLI modules.

const enc = new TextEncoder();

function bytesOf(m, lib) {
  return "text" in m ? enc.encode(m.text) : lib.fromHex(m.hex);
}

function same(a, b) {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function expectError(fn, lib, name) {
  try {
    fn();
  } catch (e) {
    if (!(e instanceof lib.AuraError)) throw new Error(`expected ${name}, got a non-AURA error: ${e && e.stack}`);
    if (!(e instanceof lib[name])) throw new Error(`expected ${name}, got ${e.name}: ${e.message}`);
    return;
  }
  throw new Error(`expected ${name}, nothing was raised`);
}

const PARAM_NAMES = {
  window: "window",
  zstd_window: "zstdWindow",
  zstd_history_min_size: "zstdHistoryMinSize",
  template_brio_window: "templateBrioWindow",
  max_runtime_templates: "maxRuntimeTemplates",
  max_runtime_template_bytes: "maxRuntimeTemplateBytes",
  template_state_bytes: "templateStateBytes",
};

async function wireCase(io, lib, codecs, v) {
  const dict = v.dictionary ? await lib.Dictionary.fromBytes(await io.bytes(v.dictionary)) : null;
  const opts = { context: v.context, maxMessageSize: v.max_message_size ?? 1 << 24, codecs };
  for (const [k, val] of Object.entries(v.params ?? {})) {
    if (!(k in PARAM_NAMES)) throw new Error(`unknown connection parameter ${k}`);
    opts[PARAM_NAMES[k]] = val;
  }
  const dec = new lib.Decoder(dict, opts);
  const frames = v.frames.map((f) => lib.fromHex(f));
  if (v.error) {
    for (const f of frames.slice(0, -1)) dec.decode(f);
    expectError(() => dec.decode(frames[frames.length - 1]), lib, v.error);
    for (const f of v.later ?? []) expectError(() => dec.decode(lib.fromHex(f)), lib, "ContextDesyncError");
    return;
  }
  if (frames.length !== v.messages.length) throw new Error("frames and messages differ in count");
  frames.forEach((f, i) => {
    const m = v.messages[i];
    const got = dec.decodeMessage(f);
    if ("text" in m) {
      if (got !== m.text) throw new Error(`frame ${i}: text differs`);
    } else if (!(got instanceof Uint8Array) || !same(got, lib.fromHex(m.hex))) throw new Error(`frame ${i}: bytes differ`);
  });
}

// A malformed dictionary (spec/vectors/dictionaries): refused when it is loaded, container and
// sections (the sections are parsed when a decoder is built on it).
async function dictionaryCase(lib, v) {
  let err = null;
  try {
    new lib.Decoder(await lib.Dictionary.fromBytes(lib.fromHex(v.dictionary)));
  } catch (e) {
    err = e;
  }
  expectError(() => {
    if (err !== null) throw err;
  }, lib, v.error);
}

function brioCase(_io, lib, v) {
  const ds = v.dictionary_sections;
  const sh = ds ? lib.BrioShared.fromSections(lib.fromHex(ds.content), lib.fromHex(ds.model)) : null;
  const dec = new lib.BrioDecoder(sh, v.context, v.window);
  v.messages.forEach((mh, i) => {
    const m = lib.fromHex(mh);
    const { data, check } = dec.decode(lib.fromHex(v.payloads[i]), m.length);
    if (!same(data, m)) throw new Error(`payload ${i}: message differs`);
    if (check !== v.checks[i]) throw new Error(`payload ${i}: check bits ${check}, expected ${v.checks[i]}`);
    dec.observe(data);
  });
}

// One message as a decoder sees it (spec/templates.md §8): its payload (if any) decoded and
// committed, then the STATE instructions sent with it.
function replay(lib, st, data, payload, instructions, maxSize) {
  let got = data;
  if (payload !== null && payload !== undefined) {
    const d = lib.decodeTemplatePayload(st, lib.fromHex(payload), maxSize);
    if (data !== null && !same(d.data, data)) throw new Error("payload: message differs");
    if (d.tmpl !== null) st.update(d.tid, d.tmpl, d.values, d.mask);
    got = d.data;
  }
  if (instructions !== null && instructions !== undefined) {
    const block = lib.fromHex(instructions);
    const { list, end } = lib.parseInstructions(block, 0);
    if (end !== block.length) throw new Error("instruction block has trailing bytes");
    st.apply(list, got);
  }
}

function templateCase(_io, lib, v) {
  const ts = v.section ? lib.TemplateSet.fromSection(lib.fromHex(v.section)) : null;
  const st = new lib.TemplateState(ts, !!v.context, v.max_runtime_templates ?? 64, v.max_runtime_template_bytes ?? 4096, v.template_state_bytes ?? 6144);
  if (ts !== null && v.content) st.cx.content = lib.fromHex(v.content);
  if (v.error) {
    for (const m of v.observe) replay(lib, st, enc.encode(m.text), m.payload, m.instructions, 1 << 20);
    replay(lib, st, null, v.payload, v.instructions, v.max_size ?? 1 << 20);
    return;
  }
  const window = v.window ?? 0;
  const instructions = v.instructions ?? v.messages.map(() => null);
  let hist = new Uint8Array(0);
  v.messages.forEach((m, i) => {
    const data = enc.encode(m.text);
    st.cx.hist = v.context ? hist : new Uint8Array(0);
    replay(lib, st, data, v.payloads[i], instructions[i], 1 << 20);
    if (window) {
      const h = new Uint8Array(hist.length + data.length);
      h.set(hist);
      h.set(data, hist.length);
      hist = h.slice(Math.max(0, h.length - window));
    }
  });
}

function messageOf(m, lib) {
  return "text" in m ? m.text : lib.fromHex(m.binary);
}

// Replays a session conversation as the client (spec/session.md §10): CONTROL frames byte for
// byte, the same messages delivered, the same close code. The client's own data frames are
// stateless RAW here, so only that they were sent is compared, not their header byte.
async function sessionCase(_io, lib, codecs, v) {
  const cfg = { ...v.session_config, ...(v.client_session_config ?? {}) };
  const dicts = new Map();
  for (const h of v.server_dictionaries) {
    const d = await lib.Dictionary.fromBytes(lib.fromHex(h));
    dicts.set(d.id, d);
  }
  const hints = v.client_hints ?? [];
  const held = hints.filter((t) => t.startsWith("aura.have.")).map((t) => dicts.get(t.slice(10))).filter((d) => d !== undefined);
  const dec = hints.find((t) => t.startsWith("aura.decodes."));
  const codings = hints.filter((t) => t.startsWith("aura.coding.")).map((t) => t.slice(12));
  const s = new lib.ClientSession({ context: cfg.context, maxMessageSize: cfg.max_message_size, fetchWindow: cfg.fetch_window,
    maxContextMemory: cfg.max_context_memory, codecs, held, codings, decodes: dec === undefined ? undefined : parseInt(dec.slice(13), 16) });
  const produced = [];
  const failures = [];
  let closed = false;
  const drain = async () => {
    for (;;) {
      produced.push(...s.dataToSend());
      const evs = s.events();
      if (evs.length === 0) return [];
      const out = [];
      for (const e of evs) {
        if (e.type === "closed") failures.push(e);
        else if (e.type === "fetched") {
          try {
            const bytes = await lib.decodeTransfer(e.bytes, e.coding, e.size, codecs);
            s.useDictionary(await lib.Dictionary.fromBytes(bytes, e.id));
          } catch (exc) {
            s.failTransfer(exc);
          }
        } else out.push(e);
      }
      if (out.length > 0) return out;
    }
  };
  for (const step of v.steps) {
    if (step.action !== undefined) {
      if (step.action !== "client") continue;
      if (step.do === "send") s.send(messageOf(step.message, lib));
      else if (step.do === "use") s.useDictionary(dicts.get(step.id));
      else if (step.do === "fetch") s.fetchDictionary(step.id);
      else if (step.do === "decline") s.decline();
      await drain();
      continue;
    }
    if (step.close !== undefined) {
      if (step.close.by === "client") {
        await drain();
        if (failures.length !== 1 || failures[0].code !== step.close.code) {
          throw new Error(`expected close ${step.close.code}, got ${JSON.stringify(failures)}`);
        }
        closed = true;
      }
      continue;
    }
    const frame = lib.fromHex(step.frame);
    if (step.from === "client") {
      if (step.injected) continue;
      await drain();
      const mine = produced.shift();
      if (mine === undefined) throw new Error(`the client should have sent ${step.frame.slice(0, 20)}`);
      const expected = lib.fromHex(step.sent ?? step.frame);
      if ((lib.isControlFrame(expected) || lib.isControlFrame(mine)) && !same(mine, expected)) {
        throw new Error(`control frame differs: ${lib.hex(mine)} != ${step.sent ?? step.frame}`);
      }
      continue;
    }
    s.receive(frame);
    const got = (await drain()).filter((e) => e.type === "message").map((e) => e.data);
    const want = step.message !== undefined ? [messageOf(step.message, lib)] : [];
    if (got.length !== want.length || !got.every((g, i) => (typeof g === "string" ? g === want[i] : same(g, want[i])))) {
      throw new Error(`delivered ${JSON.stringify(got)}, expected ${JSON.stringify(want)}`);
    }
  }
  if (closed !== v.steps.some((st) => st.close !== undefined && st.close.by === "client")) throw new Error("close mismatch");
  if (!closed && failures.length > 0) throw new Error(`unexpected close ${JSON.stringify(failures)}`);
}

/** Every vector as {name, run}: `run()` resolves when it passes, rejects with the reason. */
export async function vectorCases(io, lib, codecs) {
  const cases = [];
  for (const name of await io.list("wire")) {
    const v = await io.json(`wire/${name}`);
    cases.push({ name: `wire/${name}`, run: () => wireCase(io, lib, codecs, v) });
  }
  for (const name of await io.list("brio")) {
    const v = await io.json(`brio/${name}`);
    cases.push({ name: `brio/${name}`, run: async () => brioCase(io, lib, v) });
  }
  for (const name of await io.list("templates")) {
    const v = await io.json(`templates/${name}`);
    // an error file MUST raise its error at some step: loading the section, the observed
    // messages, the payload or its instructions (spec/templates.md §8)
    const run = v.error ? () => expectError(() => templateCase(io, lib, v), lib, v.error) : () => templateCase(io, lib, v);
    cases.push({ name: `templates/${name}`, run: async () => run() });
  }
  for (const name of await io.list("dictionaries")) {
    const v = await io.json(`dictionaries/${name}`);
    cases.push({ name: `dictionaries/${name}`, run: () => dictionaryCase(lib, v) });
  }
  for (const name of await io.list("session")) {
    const v = await io.json(`session/${name}`);
    cases.push({ name: `session/${name}`, run: () => sessionCase(io, lib, codecs, v) });
  }
  return cases;
}
