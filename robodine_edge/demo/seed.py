"""The demo store behind `robodine-edge run --demo`: a believable restaurant to explore.

Seeded once, into an empty database: 12 tables on a 14 m by 9 m floor plan, 20 dishes
with recipes, 22 inventory items, a staff user, a kiosk for every table, five robots
(two cookbots, three albabots) and four cameras (one on each albabot, one fixed). The generated passwords go to
`DATA_DIR/demo-credentials.txt` and the robot tokens to `DATA_DIR/demo-robots.json`
(both 0600); the log names them. `run --demo` then simulates those robots and cameras.
Runs on the main thread at start-up, before the actors.
"""

from __future__ import annotations

import logging
from pathlib import Path

import orjson

from robodine_edge.auth.passwords import hash_password, new_password
from robodine_edge.clock import utcnow
from robodine_edge.data.datadir import write_secret_once
from robodine_edge.data.models import DiningTable, InventoryItem, Kiosk, MenuItem, RecipeLine, User, database_proxy
from robodine_edge.data.robots import new_token, register_robot
from robodine_edge.data.video import create_stream
from robodine_edge.types import Role

log = logging.getLogger(__name__)
CREDENTIALS_FILE = "demo-credentials.txt"
DEMO_ROBOTS_FILE = "demo-robots.json"
ROBOTS = [
    ("cook-1", "cookbot"),
    ("cook-2", "cookbot"),
    ("alba-1", "albabot"),
    ("alba-2", "albabot"),
    ("alba-3", "albabot"),
]
# (camera_id, name, source, robot_id): what the demo fleet's simulator sends as, a camera on
# each albabot (`<robot_id>-cam`) and the fixed ones (`<prefix>cam-<n>`, with no prefix).
CAMERAS = [
    ("alba-1-cam", "Alba 1 camera", "robot", "alba-1"),
    ("alba-2-cam", "Alba 2 camera", "robot", "alba-2"),
    ("alba-3-cam", "Alba 3 camera", "robot", "alba-3"),
    ("cam-1", "Dining room", "fixed", None),
]
FIXED_CAMERAS = sum(1 for camera in CAMERAS if camera[2] == "fixed")

# (name, seats, x, y, width, height) in metres; the kitchen pass is at (0, 0).
TABLES = [
    ("A1", 2, 2.0, 1.0, 0.8, 0.8), ("A2", 2, 4.0, 1.0, 0.8, 0.8), ("A3", 2, 6.0, 1.0, 0.8, 0.8), ("A4", 2, 8.0, 1.0, 0.8, 0.8),
    ("B1", 4, 2.0, 3.5, 1.2, 1.2), ("B2", 4, 5.0, 3.5, 1.2, 1.2), ("B3", 4, 8.0, 3.5, 1.2, 1.2),
    ("B4", 4, 11.0, 3.5, 1.2, 1.2), ("B5", 4, 2.0, 6.5, 1.2, 1.2), ("B6", 4, 5.0, 6.5, 1.2, 1.2),
    ("C1", 6, 8.5, 6.5, 2.0, 1.2), ("C2", 6, 11.5, 6.5, 2.0, 1.2),
]  # fmt: skip

# (name, unit, count, max_count, low_threshold)
INVENTORY = [
    ("rice", "g", 20000, 25000, 3000), ("egg", "pcs", 120, 150, 20), ("beef", "g", 6000, 8000, 1000),
    ("pork", "g", 6000, 8000, 1000), ("chicken", "g", 6000, 8000, 1000), ("tofu", "g", 4000, 5000, 800),
    ("kimchi", "g", 8000, 10000, 1500), ("noodles", "g", 8000, 10000, 1500), ("rice cake", "g", 5000, 6000, 1000),
    ("vegetables", "g", 10000, 12000, 2000), ("gochujang", "g", 3000, 4000, 500), ("soy sauce", "ml", 3000, 4000, 500),
    ("sesame oil", "ml", 1500, 2000, 300), ("scallion", "g", 2000, 2500, 300), ("mushroom", "g", 3000, 4000, 500),
    ("seaweed", "sheets", 200, 250, 30), ("dumplings", "pcs", 300, 400, 50), ("broth", "ml", 30000, 40000, 5000),
    ("cheese", "g", 2000, 2500, 300), ("cola", "cans", 96, 120, 24), ("cider", "cans", 96, 120, 24), ("green tea", "bags", 200, 250, 40),
]  # fmt: skip

# (name, price, prepare_time_s, category, {ingredient: quantity}), in menu order: mains, soups, snacks, sides, drinks
MENU = [
    ("Bibimbap", 11.5, 420, "main", {"rice": 250, "egg": 1, "vegetables": 150, "gochujang": 20, "sesame oil": 5, "beef": 60}),
    ("Kimchi fried rice", 10.0, 360, "main", {"rice": 250, "kimchi": 100, "egg": 1, "pork": 50, "scallion": 10}),
    ("Bulgogi", 15.0, 540, "main", {"beef": 200, "soy sauce": 30, "vegetables": 80, "rice": 200, "sesame oil": 5}),
    ("Spicy pork", 14.0, 540, "main", {"pork": 200, "gochujang": 30, "vegetables": 80, "rice": 200}),
    ("Dakgalbi", 14.5, 600, "main", {"chicken": 220, "gochujang": 30, "rice cake": 80, "vegetables": 100}),
    ("Japchae", 12.0, 480, "main", {"noodles": 150, "vegetables": 120, "soy sauce": 20, "beef": 50, "sesame oil": 5}),
    ("Kimchi stew", 11.0, 600, "soup", {"kimchi": 150, "pork": 80, "tofu": 100, "broth": 400, "rice": 200}),
    ("Soybean stew", 10.5, 600, "soup", {"tofu": 150, "vegetables": 100, "mushroom": 50, "broth": 400, "rice": 200}),
    ("Beef noodle soup", 13.0, 480, "soup", {"noodles": 200, "beef": 100, "broth": 500, "scallion": 15}),
    ("Cold noodles", 11.0, 300, "soup", {"noodles": 200, "egg": 1, "broth": 400, "vegetables": 50}),
    ("Tteokbokki", 9.0, 420, "snack", {"rice cake": 250, "gochujang": 40, "egg": 1, "scallion": 10}),
    ("Cheese tteokbokki", 10.5, 420, "snack", {"rice cake": 250, "gochujang": 40, "cheese": 60}),
    ("Fried dumplings", 7.5, 300, "snack", {"dumplings": 6, "soy sauce": 10}),
    ("Gimbap", 8.0, 300, "snack", {"rice": 200, "seaweed": 1, "egg": 1, "vegetables": 60}),
    ("Tofu salad", 8.5, 240, "side", {"tofu": 150, "vegetables": 120, "soy sauce": 10, "sesame oil": 5}),
    ("Mushroom pancake", 9.5, 420, "side", {"mushroom": 120, "egg": 2, "scallion": 30, "vegetables": 50}),
    ("Steamed egg", 5.0, 300, "side", {"egg": 3, "broth": 100, "scallion": 5}),
    ("Cola", 2.5, 30, "drink", {"cola": 1}),
    ("Cider", 2.5, 30, "drink", {"cider": 1}),
    ("Green tea", 2.0, 60, "drink", {"green tea": 1}),
]  # fmt: skip


def seed_demo(data_dir: Path) -> bool:
    """Fill an empty store; True if it seeded. Main thread, one transaction."""
    if DiningTable.select().exists() or MenuItem.select().exists() or InventoryItem.select().exists():
        log.info("demo store not seeded: the database already holds a store")
        return False
    credentials: list[str] = []
    with database_proxy.atomic():
        now = utcnow()
        tables = [
            DiningTable.create(name=n, seats=s, x=x, y=y, width=w, height=h, created_at=now, updated_at=now)
            for n, s, x, y, w, h in TABLES
        ]
        stock = {
            name: InventoryItem.create(
                name=name, unit=unit, count=count, max_count=top, low_threshold=low, created_at=now, updated_at=now
            ).id
            for name, unit, count, top, low in INVENTORY
        }
        for position, (name, price, prepare, category, recipe) in enumerate(MENU, 1):  # MENU is in menu order
            item = MenuItem.create(
                name=name,
                price_cents=round(price * 100),
                prepare_time_s=prepare,
                category=category,
                position=position,
                created_at=now,
                updated_at=now,
            )
            RecipeLine.insert_many(
                [{"menu_item": item.id, "inventory": stock[i], "quantity": q} for i, q in recipe.items()]
            ).execute()
        credentials.append(_user("staff", Role.STAFF, None))
        credentials.append("# kiosk users: one table's tablet each (its GET /api/auth/me gives the table_id)")
        for table in tables:
            username = f"kiosk-{table.name.lower()}"
            credentials.append(f"# table {table.name} (table_id {table.id})")
            credentials.append(_user(username, Role.KIOSK, table.id))
            Kiosk.create(
                table=table.id, user=User.get(User.username == username).id, name=f"Tablet {table.name}", created_at=now
            )
        robot_tokens = {}
        for robot_id, kind in ROBOTS:
            token, digest = new_token()
            register_robot(robot_id, kind, robot_id.replace("-", " ").title(), False, None, digest)
            robot_tokens[robot_id] = {"kind": kind, "token": token}
        for camera_id, name, source, carried_by in CAMERAS:
            create_stream(camera_id, name, source, carried_by)
    path = data_dir / CREDENTIALS_FILE
    write_secret_once(path, "# demo users of robodine-edge: username password\n" + "\n".join(credentials) + "\n")
    write_secret_once(data_dir / DEMO_ROBOTS_FILE, orjson.dumps(robot_tokens, option=orjson.OPT_INDENT_2).decode())
    log.warning("seeded the demo store; its users and passwords are in %s", path)
    return True


def _user(username: str, role: Role, table_id: int | None) -> str:
    password = new_password(9)
    now = utcnow()
    User.create(
        username=username,
        password_hash=hash_password(password),
        role=role.value,
        table=table_id,
        created_at=now,
        updated_at=now,
    )
    return f"{username} {password}"
