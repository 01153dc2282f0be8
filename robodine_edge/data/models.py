"""Peewee models: the whole domain of docs/API.md as SQLite tables.

Models are bound to `database_proxy`, which `robodine_edge.data.db.open_database` points
at the real file. Times are naive UTC (`robodine_edge.clock.utcnow`); money is integer
cents; inventory counts are integers in the item's unit. The schema version lives in
`schema_version` and is managed by `robodine_edge.data.migrations`.

Each foreign key `x` also has the raw key `x_id` and some have a backref query; peewee adds
those at run time, so they are declared here (annotations only) for the type checker.
"""

from __future__ import annotations

from typing import Any

import orjson
from peewee import (
    SQL,
    AutoField,
    BlobField,
    BooleanField,
    CharField,
    DatabaseProxy,
    DateTimeField,
    FloatField,
    ForeignKeyField,
    IntegerField,
    Model,
    ModelSelect,
    TextField,
)

from robodine_edge.clock import utcnow

database_proxy = DatabaseProxy()
DEFAULT_CATEGORY = "main"


class JsonField(TextField):
    """A JSON value stored as text, encoded and decoded with orjson."""

    def db_value(self, value: Any) -> str | None:
        return None if value is None else orjson.dumps(value).decode()

    def python_value(self, value: str | None) -> Any:
        return None if value is None else orjson.loads(value)


SET_ONLY = 'CREATE INDEX IF NOT EXISTS "{table}_{column}" ON "{table}" ("{column}") WHERE "{column}" IS NOT NULL'
"""An index of a foreign key that is mostly NULL, on the rows where it is set: deleting the
row it points at still finds them by it (SQLite uses such an index for `column = ?`),
and a row written with NULL, or changed while NULL, writes no page of it."""


class BaseModel(Model):
    class Meta:
        database = database_proxy
        legacy_table_names = False


class SchemaVersion(BaseModel):
    version = IntegerField(primary_key=True)
    name = CharField()
    applied_at = DateTimeField(default=utcnow)


class DiningTable(BaseModel):
    id = AutoField()
    name = CharField(unique=True)
    seats = IntegerField()
    status = CharField(default="available", index=True)
    x = FloatField(default=0.0)
    y = FloatField(default=0.0)
    width = FloatField(default=1.0)
    height = FloatField(default=1.0)
    present = BooleanField(default=False)
    presence_reliability = FloatField(null=True)
    created_at = DateTimeField(default=utcnow)
    updated_at = DateTimeField(default=utcnow)
    orders: ModelSelect[Order]

    class Meta:
        table_name = "dining_tables"


class User(BaseModel):
    id = AutoField()
    username = CharField(unique=True)
    password_hash = CharField()
    role = CharField(index=True)
    table = ForeignKeyField(DiningTable, null=True, backref="kiosk_users", on_delete="CASCADE")
    table_id: int | None
    created_at = DateTimeField(default=utcnow)
    updated_at = DateTimeField(default=utcnow)


class AuthSession(BaseModel):
    """One issued access token (by its `jti`), so logout can revoke it durably."""

    id = AutoField()
    jti = CharField(unique=True)
    user = ForeignKeyField(User, null=True, backref="sessions", on_delete="SET NULL")
    user_id: int | None
    created_at = DateTimeField(default=utcnow)
    expires_at = DateTimeField(index=True)
    revoked_at = DateTimeField(null=True)


class Kiosk(BaseModel):
    id = AutoField()
    table = ForeignKeyField(DiningTable, backref="kiosks", on_delete="CASCADE")
    table_id: int
    user = ForeignKeyField(User, unique=True, on_delete="CASCADE")
    user_id: int
    name = CharField(null=True)
    created_at = DateTimeField(default=utcnow)


class Robot(BaseModel):
    """A registered robot and its last known live state (kept while offline)."""

    id = AutoField()
    robot_id = CharField(unique=True)
    kind = CharField(index=True)
    name = CharField(null=True)
    token_hash = CharField()
    legacy = BooleanField(default=False)
    legacy_cook_addr = CharField(null=True)
    mac = CharField(null=True)
    caps = JsonField(null=True)
    state = CharField(default="unknown")
    battery = FloatField(null=True)
    pose = JsonField(null=True)
    joints = JsonField(null=True)
    charging = BooleanField(default=False)
    last_seen = DateTimeField(null=True)
    created_at = DateTimeField(default=utcnow)
    updated_at = DateTimeField(default=utcnow)


class Party(BaseModel):
    """A group of customers: waiting, seated or gone. The waiting list is its `waiting` rows."""

    id = AutoField()
    party_size = IntegerField()
    name = CharField(null=True)
    status = CharField(default="waiting", index=True)
    table = ForeignKeyField(DiningTable, null=True, backref="parties", on_delete="SET NULL")
    table_id: int | None
    created_at = DateTimeField(default=utcnow)
    seated_at = DateTimeField(null=True)
    left_at = DateTimeField(null=True)


class Seating(BaseModel):
    """History of which party sat at which table, and when it was released."""

    id = AutoField()
    party = ForeignKeyField(Party, backref="seatings", on_delete="CASCADE")
    party_id: int
    table = ForeignKeyField(DiningTable, backref="seatings", on_delete="CASCADE")
    table_id: int
    seated_at = DateTimeField(default=utcnow)
    released_at = DateTimeField(null=True)


class InventoryItem(BaseModel):
    id = AutoField()
    name = CharField(unique=True)
    unit = CharField(default="pcs")
    count = IntegerField(default=0)
    max_count = IntegerField(default=0)
    low_threshold = IntegerField(default=0)
    created_at = DateTimeField(default=utcnow)
    updated_at = DateTimeField(default=utcnow)

    class Meta:
        table_name = "inventory"


class MenuItem(BaseModel):
    id = AutoField()
    name = CharField(unique=True)
    price_cents = IntegerField()
    prepare_time_s = IntegerField(default=300)
    category = CharField(default=DEFAULT_CATEGORY, index=True)
    available = BooleanField(default=True)
    position = IntegerField(default=0)
    """Where the dish stands on the menu (data/kitchen.py `menu_order`): dishes by
    position within their category, categories by their smallest position."""
    created_at = DateTimeField(default=utcnow)
    updated_at = DateTimeField(default=utcnow)


class RecipeLine(BaseModel):
    """How much of one inventory item one portion of a menu item uses."""

    id = AutoField()
    menu_item = ForeignKeyField(MenuItem, backref="recipe", on_delete="CASCADE")
    menu_item_id: int
    inventory = ForeignKeyField(InventoryItem, backref="used_in", on_delete="RESTRICT")
    inventory_id: int
    quantity = IntegerField()


ORDER_ACTIVE = '"served_at" IS NULL AND "cancelled_at" IS NULL'
ORDER_CANCELLED = "\"status\" = 'cancelled'"
TASK_OPEN = '"finished_at" IS NULL'
TASK_ENDED_BADLY = "\"state\" IN ('failed', 'cancelled')"
"""The conditions of the partial indexes on orders and tasks, as SQL (see `Order`, `Task`)."""


class Order(BaseModel):
    """Its party is not indexed: no query looks orders up by party, and a party is never
    deleted (its `left` row stays), so the key's `SET NULL` never runs.

    Its status is not indexed, as it changes at every step: the orders still active are
    (`order_active`, by the stamps only the last step sets: a move writes a page of it
    when the order is placed and when it is served or cancelled, not at each step),
    and so are the cancelled ones (`order_cancelled`: a move to any other status writes
    no page of it). A query for active orders also names `ORDER_ACTIVE`, one for
    cancelled ones `ORDER_CANCELLED`, for SQLite to use them; served orders are most of
    the table, read from its newest end."""

    id = AutoField()
    table = ForeignKeyField(DiningTable, backref="orders", on_delete="RESTRICT")
    table_id: int
    party = ForeignKeyField(Party, null=True, backref="orders", on_delete="SET NULL", index=False)
    party_id: int | None
    status = CharField(default="placed")
    total_cents = IntegerField()
    priority = IntegerField(default=0)
    flagged = BooleanField(default=False)
    flag_reason = CharField(null=True)
    created_by = ForeignKeyField(User, null=True, on_delete="SET NULL")
    created_by_id: int | None
    created_at = DateTimeField(default=utcnow, index=True)  # a day's orders (data.stats)
    updated_at = DateTimeField(default=utcnow)
    cooking_at = DateTimeField(null=True)
    ready_at = DateTimeField(null=True)
    serving_at = DateTimeField(null=True)
    served_at = DateTimeField(null=True)
    cancelled_at = DateTimeField(null=True)
    items: ModelSelect[OrderItem]

    class Meta:
        indexes = (
            SQL(f'CREATE INDEX IF NOT EXISTS "order_active" ON "order" ("id") WHERE {ORDER_ACTIVE}'),
            SQL(f'CREATE INDEX IF NOT EXISTS "order_cancelled" ON "order" ("id") WHERE {ORDER_CANCELLED}'),
        )


class OrderItem(BaseModel):
    """An order line; name and price are copied so later menu edits do not rewrite history."""

    id = AutoField()
    order = ForeignKeyField(Order, backref="items", on_delete="CASCADE")
    order_id: int
    menu_item = ForeignKeyField(MenuItem, null=True, on_delete="SET NULL")
    menu_item_id: int | None
    name = CharField()
    quantity = IntegerField()
    price_cents = IntegerField()
    note = CharField(null=True)


class StockReservation(BaseModel):
    """Inventory taken by an order when placed, returned if it is cancelled before cooking."""

    id = AutoField()
    order = ForeignKeyField(Order, backref="reservations", on_delete="CASCADE")
    order_id: int
    inventory = ForeignKeyField(InventoryItem, on_delete="CASCADE")
    inventory_id: int
    quantity = IntegerField()


class Task(BaseModel):
    """Work for a robot (cook, serve, clean, dock), which may pass through several robots.

    Its table and its robot are indexed only where set (a serve or cook task has no
    table; a queued task no robot): the index serves deleting a table or a robot, and
    making a task writes no page of either (`SET_ONLY`). Its kind is not indexed: no
    query looks tasks up by kind.

    Its state is not indexed, as it changes three times in a task's life: the open tasks
    are (`task_open`, by `finished_at`, set only when a task ends: a task writes a page of
    it when made and when it ends), and so are the failed and cancelled ones
    (`task_ended_badly`: a move to any other state writes no page of it). Queries name
    `TASK_OPEN` or `TASK_ENDED_BADLY` for SQLite to use them; done tasks are most of the
    table, read from its newest end."""

    id = AutoField()
    kind = CharField()
    state = CharField(default="queued")
    order = ForeignKeyField(Order, null=True, backref="tasks", on_delete="SET NULL")
    order_id: int | None
    table = ForeignKeyField(DiningTable, null=True, on_delete="SET NULL", index=False)
    table_id: int | None
    robot = ForeignKeyField(Robot, null=True, backref="tasks", on_delete="SET NULL", index=False)
    robot_id: int | None
    priority = IntegerField(default=0)
    attempts = IntegerField(default=0)
    detail = CharField(null=True)
    created_at = DateTimeField(default=utcnow)
    updated_at = DateTimeField(default=utcnow)
    started_at = DateTimeField(null=True)
    finished_at = DateTimeField(null=True)

    class Meta:
        indexes = (
            SQL(SET_ONLY.format(table="task", column="table_id")),
            SQL(SET_ONLY.format(table="task", column="robot_id")),
            SQL(f'CREATE INDEX IF NOT EXISTS "task_open" ON "task" ("id") WHERE {TASK_OPEN}'),
            SQL(f'CREATE INDEX IF NOT EXISTS "task_ended_badly" ON "task" ("id") WHERE {TASK_ENDED_BADLY}'),
        )


class RobotCommand(BaseModel):
    """A command sent to a robot; its id is the `id` of the link frame and the `task_id`.

    Its status is not indexed (no query looks commands up by it, and every command
    changes it three or four times); who sent it only where set (staff's commands: the
    dispatcher's have no sender)."""

    id = AutoField()
    robot = ForeignKeyField(Robot, backref="commands", on_delete="CASCADE")
    robot_id: int
    task = ForeignKeyField(Task, null=True, backref="commands", on_delete="SET NULL")
    task_id: int | None
    name = CharField()
    args = JsonField(default=dict)
    status = CharField(default="pending")
    reason = CharField(null=True)
    sends = IntegerField(default=0)
    created_by = ForeignKeyField(User, null=True, on_delete="SET NULL", index=False)
    created_by_id: int | None
    created_at = DateTimeField(default=utcnow)
    sent_at = DateTimeField(null=True)
    acked_at = DateTimeField(null=True)
    finished_at = DateTimeField(null=True)

    class Meta:
        indexes = (SQL(SET_ONLY.format(table="robot_command", column="created_by_id")),)


class Pose(BaseModel):
    """A pose sample of a robot (frames world, pinky, global, cookbot) or an ingredient."""

    id = AutoField()
    robot_id = CharField(null=True)
    ingredient_id = IntegerField(null=True)
    frame = CharField()
    x = FloatField()
    y = FloatField()
    z = FloatField(default=0.0)
    roll = FloatField(default=0.0)
    pitch = FloatField(default=0.0)
    yaw = FloatField(default=0.0)
    recorded_at = DateTimeField(default=utcnow)

    class Meta:
        indexes = ((("robot_id", "frame", "recorded_at"), False),)


ORDER_EVENT_TYPES = ("order_placed", "order_status")
"""The types of an order's own events, left out of the type index."""
EVENT_TYPE_INDEXED = f'"type" NOT IN ({", ".join(repr(kind) for kind in ORDER_EVENT_TYPES)})'
EVENT_LEVEL_INDEXED = "\"level\" != 'info'"
"""The conditions of the event indexes, as SQL: a query must hold the very same term for
SQLite to use a partial index."""


class Event(BaseModel):
    """The append-only event log; system log lines that matter to staff are events too.

    `seq` numbers the store's events from 1 with no gaps, in commit order (one writer,
    and each is `MAX(seq) + 1` inside its own transaction); `event_id` is a UUID that
    names the event beyond this store (docs/FEDERATION.md). Both are written whether or
    not federation is on, so turning it on later publishes the whole log.

    Its type and level are indexed except for an order's own events and `info` (most of
    the log, five events an order): such an event writes no page of either index, and a
    list of those types or that level, newest first, finds its rows at the end of the
    table without one. A query by any other type or level names the index's condition
    too (`EVENT_TYPE_INDEXED`, `EVENT_LEVEL_INDEXED`), which is how SQLite knows it may
    use the index."""

    id = AutoField()
    seq = IntegerField(null=True, unique=True)
    event_id = CharField(null=True)
    type = CharField()
    level = CharField(default="info")
    entity_type = CharField(null=True)
    entity_id = CharField(null=True)
    message = TextField()
    data = JsonField(null=True)
    created_at = DateTimeField(default=utcnow, index=True)

    class Meta:
        indexes = (
            SQL(f'CREATE INDEX IF NOT EXISTS "event_type" ON "event" ("type") WHERE {EVENT_TYPE_INDEXED}'),
            SQL(f'CREATE INDEX IF NOT EXISTS "event_level" ON "event" ("level") WHERE {EVENT_LEVEL_INDEXED}'),
        )


class FederationOutbox(BaseModel):
    """Events waiting for headquarters' acknowledgement, as they will be published: the
    body is made in the event's own transaction, so it shows the order as it was then.
    Written only while federation is on; a row is deleted once an `ack` covers its seq."""

    seq = IntegerField(primary_key=True)
    type = CharField()
    body = BlobField()


class FederationState(BaseModel):
    """What federation must remember across restarts: the last acknowledged seq, the
    version of the last `cfg` taken from each topic, the `cfg-ack` owed for each kind."""

    key = CharField(primary_key=True)
    value = JsonField()
    updated_at = DateTimeField(default=utcnow)


class Notification(BaseModel):
    id = AutoField()
    user = ForeignKeyField(User, backref="notifications", on_delete="CASCADE")
    user_id: int
    event = ForeignKeyField(Event, null=True, on_delete="SET NULL")
    event_id: int | None
    type = CharField()
    message = TextField()
    created_at = DateTimeField(default=utcnow)
    read_at = DateTimeField(null=True)


class Emergency(BaseModel):
    id = AutoField()
    reason = CharField(null=True)
    active = BooleanField(default=True, index=True)
    created_by = ForeignKeyField(User, null=True, on_delete="SET NULL")
    created_by_id: int | None
    created_at = DateTimeField(default=utcnow)
    resolved_at = DateTimeField(null=True)
    resolved_by = ForeignKeyField(User, null=True, on_delete="SET NULL")
    resolved_by_id: int | None


class Setting(BaseModel):
    """One store setting (`store_name`, `battery_low`, ...) as a JSON value."""

    key = CharField(primary_key=True)
    value = JsonField()
    updated_at = DateTimeField(default=utcnow)


class VideoStream(BaseModel):
    id = AutoField()
    camera_id = CharField(unique=True)
    name = CharField(null=True)
    source = CharField(default="fixed")
    robot_id = CharField(null=True)
    created_at = DateTimeField(default=utcnow)
    updated_at = DateTimeField(default=utcnow)


class Recording(BaseModel):
    id = AutoField()
    stream = ForeignKeyField(VideoStream, backref="recordings", on_delete="CASCADE")
    stream_id: int
    file = CharField(unique=True)
    started_at = DateTimeField(default=utcnow)
    ended_at = DateTimeField(null=True)
    bytes = IntegerField(default=0)


class IdempotencyRecord(BaseModel):
    """The first answer to a creating POST, replayed for retries with the same key."""

    id = AutoField()
    scope = CharField()
    key = CharField()
    body_hash = CharField()
    status = IntegerField()
    response = BlobField()
    created_at = DateTimeField(default=utcnow)
    """Not indexed: the hourly prune reads the whole table, at most 48 hours of creating
    requests, rather than every one of them writing a page of an index for it."""

    class Meta:
        indexes = ((("scope", "key"), True),)


ALL_MODELS: tuple[type[BaseModel], ...] = (
    SchemaVersion,
    DiningTable,
    User,
    AuthSession,
    Kiosk,
    Robot,
    Party,
    Seating,
    InventoryItem,
    MenuItem,
    RecipeLine,
    Order,
    OrderItem,
    StockReservation,
    Task,
    RobotCommand,
    Pose,
    Event,
    Notification,
    Emergency,
    Setting,
    VideoStream,
    Recording,
    IdempotencyRecord,
    FederationOutbox,
    FederationState,
)
