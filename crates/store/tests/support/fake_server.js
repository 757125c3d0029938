(() => {
  const real = window.fetch;
  const json = (status, value) => {
    const response = new Response(JSON.stringify(value), { status, headers: { 'content-type': 'application/json' } });
    response.__body = JSON.stringify(value);
    return response;
  };
  const fake = window.__rewindFake = {
    epoch: 7, entries: [], keys: new Set(), commandKeys: new Map(), calls: [], plans: {}, pageSize: 100000, json,
    // While true, every request fails as when the server is stopped.
    down: false,
    // Set by the Rust side: decides a command (JSON) on the log (all its frames), answering the frame of its
    // event, or the refusal as text.
    decide: null,
    head() { return this.entries.length ? this.entries[this.entries.length - 1].last : 0; },
    add(first, last, body) { this.entries.push({ first, last, body }); },
    plan(path, action) { (this.plans[path] ||= []).push(action); },
    stop() { window.fetch = real; delete window.__rewindFake; },
    answer(call) {
      const q = call.query;
      switch (call.path) {
        case '/api/version': return json(200, { epoch: this.epoch, head: this.head() });
        case '/api/snapshot': return new Response(null, { status: 204 });
        case '/api/events': {
          const after = Number(q.after);
          const upto = Math.min(this.head(), after + Math.min(Number(q.limit ?? 10000), this.pageSize));
          const page = this.entries.filter(e => e.first > after && e.last <= upto);
          const bytes = new Uint8Array(page.reduce((n, e) => n + e.body.length, 0));
          let at = 0;
          for (const e of page) { bytes.set(e.body, at); at += e.body.length; }
          const last = page.length ? page[page.length - 1].last : after;
          return new Response(bytes, { status: 200, headers: {
            'x-rewind-epoch': String(this.epoch), 'x-rewind-head': String(this.head()), 'x-rewind-last': String(last) } });
        }
        case '/api/append': {
          if (this.keys.has(q.key)) return json(200, { epoch: this.epoch, head: this.head(), stored_before: true });
          if (Number(q.epoch) !== this.epoch || Number(q.after) !== this.head()) {
            return json(409, { epoch: this.epoch, head: this.head(), message: 'the log moved' });
          }
          this.keys.add(q.key);
          this.add(this.head() + 1, this.head() + 1, call.body);
          return json(200, { epoch: this.epoch, head: this.head() });
        }
        case '/api/command': {
          const asked = JSON.parse(new TextDecoder().decode(call.body));
          const seen = this.commandKeys.get(asked.key);
          if (seen) return json(200, { seq: seen, epoch: this.epoch, head: this.head(), chain: '', stored_before: true });
          const log = new Uint8Array(this.entries.reduce((n, e) => n + e.body.length, 0));
          let at = 0;
          for (const e of this.entries) { log.set(e.body, at); at += e.body.length; }
          const decided = this.decide(log, JSON.stringify(asked.command));
          if (typeof decided === 'string') return json(422, { message: decided, epoch: this.epoch, head: this.head() });
          const seq = this.head() + 1;
          this.add(seq, seq, decided);
          this.commandKeys.set(asked.key, seq);
          return json(200, { seq, epoch: this.epoch, head: this.head(), chain: '' });
        }
        case '/api/commands': {
          const asked = JSON.parse(new TextDecoder().decode(call.body));
          const outcomes = [];
          for (const one of asked.commands) {
            const body = new TextEncoder().encode(JSON.stringify(one));
            const answer = this.answer({ path: '/api/command', query: {}, body });
            const value = JSON.parse(answer.__body);
            outcomes.push(answer.status === 200
              ? { outcome: 'stored', seq: value.seq, stored_before: !!value.stored_before }
              : { outcome: 'refused', message: value.message, epoch: value.epoch, head: value.head });
          }
          return json(200, { outcomes });
        }
        case '/api/session': return new Response(null, { status: 204 });
        default: return new Response('not found', { status: 404 });
      }
    },
  };
  window.fetch = async (url, init = {}) => {
    const u = new URL(url, location.href);
    const call = { method: init.method ?? 'GET', path: u.pathname, query: Object.fromEntries(u.searchParams),
      type: new Headers(init.headers ?? {}).get('content-type'), body: init.body ? new Uint8Array(init.body) : null };
    fake.calls.push(call);
    if (fake.down) throw new TypeError('Failed to fetch');
    const action = fake.plans[call.path]?.shift();
    if (action === 'lose') { fake.answer(call); throw new TypeError('Failed to fetch'); }
    return action ? action(call) : fake.answer(call);
  };
})()
