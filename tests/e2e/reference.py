"""An independent reference of CONTRACT §1, §4 and §5 in plain Python, to check what the app shows against."""
import json

MAX = 2**53 - 1


class Broken(Exception):
    pass


def replay(lines):
    """Folds JSON Lines events; returns (users, items) as {id: balance}, {id: [price, stock]}."""
    users, items, orders, refunded = {}, {}, {}, set()
    for n, line in enumerate(lines, 1):
        e = json.loads(line)
        if e["seq"] != n or e["v"] not in (1, 2):
            raise Broken(f"line {n}: seq {e['seq']}")
        t = e["type"]
        if e["v"] == 1 and t not in ("ToppedUp", "ItemAdded", "OrderPlaced"):
            raise Broken(f"line {n}: {t} in version 1")
        if t == "ToppedUp":
            b = users.get(e["user"], 0) + e["amount"]
            if e["amount"] < 1 or b > MAX:
                raise Broken(f"line {n}")
            users[e["user"]] = b
        elif t == "ItemAdded":
            stock = items.get(e["item"], [0, 0])[1] + e["qty"]
            if not 1 <= e["price"] <= MAX or e["qty"] < 1 or stock > MAX:
                raise Broken(f"line {n}")
            items[e["item"]] = [e["price"], stock]
        elif t == "OrderPlaced":
            u, i, q = e["user"], e["item"], e["qty"]
            if u not in users or i not in items or q < 1 or items[i][1] < q:
                raise Broken(f"line {n}")
            total = items[i][0] * q
            if total != e["total"] or total > MAX or users[u] < total:
                raise Broken(f"line {n}")
            if e["v"] == 2 and e["price"] != items[i][0]:
                raise Broken(f"line {n}: price")
            users[u] -= total
            items[i][1] -= q
            orders[n] = (u, i, q, total)
        elif t == "Refunded":
            o = e["order"]
            if o not in orders or o in refunded or orders[o] != (e["user"], e["item"], e["qty"], e["total"]):
                raise Broken(f"line {n}: refund of {o}")
            u, i, q, total = orders[o]
            if users[u] + total > MAX or items[i][1] + q > MAX:
                raise Broken(f"line {n}")
            users[u] += total
            items[i][1] += q
            refunded.add(o)
        elif t == "Withdrawn":
            if e["user"] not in users or not 1 <= e["amount"] <= users[e["user"]]:
                raise Broken(f"line {n}")
            users[e["user"]] -= e["amount"]
        elif t == "WrittenOff":
            if e["item"] not in items or not 1 <= e["qty"] <= items[e["item"]][1]:
                raise Broken(f"line {n}")
            items[e["item"]][1] -= e["qty"]
        elif t == "PriceSet":
            i = e["item"]
            if i not in items or not 1 <= e["price"] <= MAX or e["price"] == items[i][0]:
                raise Broken(f"line {n}")
            items[i][0] = e["price"]
        else:
            raise Broken(f"line {n}: type {t}")
    return users, items


def make_log(n, seed=1):
    """A valid log of n events, made with Python's own random, to import."""
    import random
    rnd = random.Random(seed)
    users, items, lines = {}, {}, []
    names = [f"user{k}" for k in range(40)]
    goods = [f"good{k}" for k in range(15)]
    ts = 1_763_800_000_000
    while len(lines) < n:
        seq = len(lines) + 1
        ts += rnd.randint(1, 5000)
        u, i = rnd.choice(names), rnd.choice(goods)
        r = rnd.random()
        if u not in users or r < 0.2:
            a = rnd.randint(100, 5000)
            users[u] = users.get(u, 0) + a
            e = {"type": "ToppedUp", "user": u, "amount": a}
        elif i not in items or r < 0.35:
            p, q = rnd.randint(5, 400), rnd.randint(1, 30)
            items[i] = [p, items.get(i, [0, 0])[1] + q]
            e = {"type": "ItemAdded", "item": i, "price": p, "qty": q}
        else:
            q = rnd.randint(1, 3)
            total = items[i][0] * q
            if items[i][1] < q or users[u] < total:
                continue
            users[u] -= total
            items[i][1] -= q
            e = {"type": "OrderPlaced", "user": u, "item": i, "qty": q, "total": total}
        lines.append(json.dumps({"v": 1, "seq": seq, "ts": ts, **e}, separators=(",", ":")))
    return lines, users, items
