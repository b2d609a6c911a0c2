"""Walk every URL pattern and API route as a second operator's user with the first
operator's object ids: anything but 404/403 fails. A route the walk does not know
fails too, so a new route must say here how it is scoped."""

from __future__ import annotations

import base64
import re
from collections.abc import Iterator

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from kanat.core.models import AuditEvent, Operator, User
from kanat.fleet import services
from kanat.fleet.models import Aircraft, Flight, Installation, Part
from kanat.flightdata.models import Finding, FlightLog
from kanat.flightdata.services import import_flight_log
from kanat.inventory import services as inv
from kanat.inventory.models import PurchaseOrder, StockItem, StockMovement
from kanat.maintenance import services as mx
from kanat.people.models import Authorisation, Qualification
from kanat.training import services as training
from kanat.work import services as work
from kanat.work.models import Defect, SignOff, SupervisedStep, TaskCard, TaskStep, WorkPackage
from tests import factories as f
from tests.factories import utc

pytestmark = pytest.mark.django_db

SECRET = "ALPHA-SECRET"

# Routes whose id names an operator's object: {route name: model}
OBJECT_ROUTES: dict[str, type] = {
    "fleet:aircraft_detail": Aircraft,
    "fleet:part_detail": Part,
    "aircraft-detail": Aircraft,
    "part-detail": Part,
    "installation-detail": Installation,
    "installation-remove": Installation,
    "flight-detail": Flight,
    "operator-detail": Operator,
    "aircraft-due": Aircraft,
    "maintenance:aircraft_due": Aircraft,
    "flightlog-detail": FlightLog,
    "flightdata:log_detail": FlightLog,
    "qualification-detail": Qualification,
    "authorisation-detail": Authorisation,
    "flightdata:finding_defect": Finding,
    "work:package_detail": WorkPackage,
    "work:card_detail": TaskCard,
    "work:card_pdf": TaskCard,
    "work:card_to_stores": TaskCard,
    "work:defect_detail": Defect,
    "workpackage-detail": WorkPackage,
    "workpackage-open": WorkPackage,
    "workpackage-add-cards": WorkPackage,
    "workpackage-release": WorkPackage,
    "taskcard-detail": TaskCard,
    "taskcard-sign": TaskCard,
    "taskcard-inspect": TaskCard,
    "taskstep-detail": TaskStep,
    "taskstep-sign": TaskStep,
    "defect-detail": Defect,
    "defect-defer": Defect,
    "signoff-detail": SignOff,
    "taskstep-sign-supervised": TaskStep,
    "supervisedstep-detail": SupervisedStep,
    "supervisedstep-countersign": SupervisedStep,
    "supervisedstep-decline": SupervisedStep,
    "people:person": User,
    "inventory:po_detail": PurchaseOrder,
    "inventory:item_detail": StockItem,
    "stockitem-detail": StockItem,
    "stockitem-transfer": StockItem,
    "stockitem-issue": StockItem,
    "stockmovement-detail": StockMovement,
    "purchaseorder-detail": PurchaseOrder,
    "purchaseorder-receive": PurchaseOrder,
}
# object routes that take only POST (the walk posts to them)
POST_ONLY = (
    "-remove",
    "-open",
    "-add-cards",
    "-release",
    "-sign",
    "-inspect",
    "-defer",
    "-transfer",
    "-issue",
    "-receive",
    "-sign-supervised",
    "-countersign",
    "-decline",
)
POST_ONLY_PAGES = {"flightdata:finding_defect", "work:card_to_stores"}
# pages whose forms post back to them: the walk posts there too
POSTED_PAGES = {
    "work:package_detail",
    "work:card_detail",
    "work:defect_detail",
    "inventory:po_detail",
    "inventory:item_detail",
}
# Routes without an operator's object id: requested, and must not show the other
# operator's data. {route name: why}
NO_OBJECT_ROUTES: dict[str, str] = {
    "fleet:overview": "list, restricted",
    "fleet:part_list": "list, restricted",
    "login": "no data",
    "logout": "no data (POST only)",
    "api-root": "index of routes",
    "api-schema": "schema, no data",
    "api-docs": "static docs page",
    "api-redoc": "static docs page",
    "aircraft-list": "list, restricted",
    "part-list": "list, restricted",
    "installation-list": "list, restricted",
    "flight-list": "list, restricted",
    "operator-list": "list, restricted",
    "forecast": "forecast of the caller's fleet",
    "maintenance:due_list": "forecast of the caller's fleet",
    "maintenance:planning": "forecast of the caller's fleet",
    "flightlog-list": "list, restricted",
    "flightdata:log_list": "list, restricted",
    "flightdata:upload": "form listing the caller's aircraft",
    "qualification-list": "list, restricted (the caller's staff)",
    "people:people": "list, restricted (the caller's staff)",
    "authorisation-list": "list, restricted (the caller's staff)",
    "work:board": "list, restricted",
    "work:defect_list": "list, restricted; the raise form offers the caller's aircraft",
    "work:package_create": "POST only; the aircraft it names is looked up restricted",
    "workpackage-list": "list, restricted",
    "taskcard-list": "list, restricted",
    "taskstep-list": "list, restricted",
    "defect-list": "list, restricted",
    "signoff-list": "list, restricted",
    "supervisedstep-list": "list, restricted",
    "inventory:stock": "list, restricted (the caller's operator's stock)",
    "inventory:po_list": "list, restricted",
    "inventory:reorder": "suggestions from the caller's minimum stocks and stock",
    "stockitem-list": "list, restricted",
    "stockmovement-list": "list, restricted",
    "purchaseorder-list": "list, restricted",
    # the transfer dashboard: figures from restrict(user); operator selector = own operator
    "training:dashboard": "figures of the caller's operator's aircraft and staff only",
    "training:dashboard_csv": "figures of the caller's operator's aircraft and staff only",
    "training:dashboard_pdf": "figures of the caller's operator's aircraft and staff only",
    "transferdashboard-list": "figures of the caller's operator's aircraft and staff only",
}
# Hub-only data (no tenant, but not for operators: the joint venture's engineering data
# under licence): every operator user gets 403 whatever the id.
HUB_ONLY_ROUTES = {
    "partmaster-list",
    "partmaster-detail",
    "product-list",
    "product-detail",
    "bom-list",
    "bom-detail",
    "bom-explode",
    "bom-compare",
    "workcentre-list",
    "workcentre-detail",
    "routing-list",
    "routing-detail",
    "buildorder-list",
    "buildorder-detail",
    "buildorder-release",
    "buildorder-reserve",
    "buildorder-issue",
    "buildorder-sign-operation",
    "buildorder-inspect",
    "buildorder-complete",
    "buildorder-accept",
    "nonconformance-list",
    "nonconformance-detail",
    "nonconformance-disposition",
    "nonconformance-approve-concession",
    "nonconformance-close",
    "localisation-list",
    "firstarticle-list",
    "firstarticle-detail",
    "firstarticle-form2",
    "firstarticle-characteristics",
    "firstarticle-record-result",
    "firstarticle-accept",
    "firstarticle-reject",
    "production:bom_list",
    "production:bom_detail",
    "production:routing_detail",
    "production:order_board",
    "production:order_detail",
    "production:ncr_list",
    "production:localisation",
    "production:fai_list",
    "production:fai_detail",
    "training:matrix",
    # training records: the hub trains its own staff (operator staff are never trainees)
    "training:course_list",
    "training:course_detail",
    "training:session_detail",
    "training:proposals",
    "training:due",
    "course-list",
    "course-detail",
    "trainingsession-list",
    "trainingsession-detail",
    "trainingsession-cancel",
    "enrolment-list",
    "enrolment-detail",
    "enrolment-attendance",
    "enrolment-assessment",
    "enrolment-certificate",
    "enrolment-withdraw",
    "attendance-list",
    "attendance-detail",
    "assessment-list",
    "assessment-detail",
    "certificate-list",
    "certificate-detail",
    "trainee-list",
    "trainee-detail",
    "stage-list",
    "stage-detail",
    "stagegrant-list",
    "stagegrant-detail",
    "stagegrant-withdraw",
    "proposal-list",
    "reminder-list",
}
# Reference data shared by every operator (no tenant): visible to all signed-in users.
SHARED_ROUTES = {
    "stocklocation-list",
    "variant-list",
    "variant-detail",
    "aircrafttype-list",
    "aircrafttype-detail",
    "partnumber-list",
    "partnumber-detail",
}


def walk(patterns=None, prefix="", namespace="") -> Iterator[tuple[str, str, list[str]]]:
    """(route name or pattern, full regex/route text, kwarg names) for every endpoint."""
    for p in patterns if patterns is not None else get_resolver().url_patterns:
        if isinstance(p, URLResolver):
            ns = f"{namespace}{p.namespace}:" if p.namespace else namespace
            yield from walk(p.url_patterns, prefix + str(p.pattern), ns)
        elif isinstance(p, URLPattern):
            text = prefix + str(p.pattern)
            kwargs = re.findall(r"\(\?P<(\w+)>", text) + re.findall(r"<(?:\w+:)?(\w+)>", text)
            name = f"{namespace}{p.name}" if p.name else f"{namespace}<unnamed {text}>"
            yield name, text, kwargs


@pytest.fixture
def world(tmp_path):
    pn = f.part_number()
    v = f.variant(positions={"ENG": [pn]})
    alpha, beta = f.operator(code="ALPHA"), f.operator(code="BETA")
    a = f.aircraft(operator_=alpha, variant_=v, serial=f"{SECRET}-AC")
    b = f.aircraft(operator_=beta, variant_=v, serial="BETA-AC")
    pa = f.part(pn=pn, serial=f"{SECRET}-SN")
    f.install(pa, a, utc(2025, 1, 1))
    f.flight(a, utc(2025, 2, 1), 3)
    f.install(f.part(pn=pn, serial="BETA-SN"), b, utc(2025, 1, 1))
    csv = tmp_path / f"{SECRET}-log.csv"
    csv.write_text("takeoff,landing\n2024-12-03T08:00:00Z,2024-12-03T09:00:00Z\n")
    log, _ = import_flight_log(actor=None, aircraft=a, path=csv)  # before the part was fitted
    holder = f.user(operator=alpha, username=f"{SECRET}-holder")
    qual = f.qualification(holder, [v.aircraft_type], reference=f"{SECRET}-LIC")
    auth = f.authorisation(holder, qual, ["task"], number=f"{SECRET}-CA")
    finding = Finding.objects.create(
        operator=alpha,
        log=log,
        aircraft=a,
        code="HARD_LANDING",
        message=f"{SECRET} bump",
        t_s=1.0,
        series="accel",
        sample=1,
        value=30.0,
        limit=25.0,
    )
    gvi = mx.define_task(
        actor=None,
        code="WALK-GVI",
        title="GVI",
        ata="05-20",
        kind="repeat",
        variants=[v],
        interval={"DY": 30},
    )[0].task
    defect = work.raise_defect(
        actor=None, aircraft=a, ata="32", description=f"{SECRET} shimmy", source="crew"
    )
    pkg = work.create_package(
        actor=None, aircraft=a, title=f"{SECRET}-WP", items=[work.DueRef(gvi)]
    )
    work.open_package(actor=None, package=pkg)
    tech = f.user(role="technician")
    f.authorisation(tech, f.qualification(tech, [v.aircraft_type]), ["task"])
    card = pkg.cards.get()
    step = card.steps.get()
    # the step performed by a trainee under the technician's supervision, countersigned
    manager = f.user(role="training_manager")
    stage = training.create_stage(
        actor=manager,
        aircraft_type=v.aircraft_type,
        rank=1,
        code="WALK-SUP",
        name="Supervised",
        supervised_work=True,
    )
    trainee = f.user(role="technician")
    training.grant_stage(actor=manager, person=trainee, stage=stage)
    entry = work.sign_step_supervised(actor=trainee, step=step, supervisor=tech, remark=SECRET)
    signoff = work.countersign_step(actor=tech, entry=entry, remark=SECRET)
    store = f.location(code="STORE-1")
    po = f.purchase_order([(pn, 2)], number=f"{SECRET}-PO", operator=alpha)
    stock = inv.receive_against_po(
        actor=None,
        order=po,
        delivery_ref=f"{SECRET}-DN",
        location=store,
        receipts=[inv.Receipt(line=po.lines.get(), serial=f"{SECRET}-RS", certificate_ref=SECRET)],
    ).items.get()
    inv.set_min_stock(actor=None, part_number=pn, location=store, minimum=5, owner=alpha)
    return {
        "alpha": alpha,
        "objects": {
            Aircraft: a,
            Part: pa,
            Installation: Installation.objects.get(part=pa),
            Flight: Flight.objects.get(aircraft=a, source="manual"),
            Operator: alpha,
            FlightLog: log,
            Qualification: qual,
            Authorisation: auth,
            Finding: finding,
            WorkPackage: pkg,
            TaskCard: card,
            TaskStep: step,
            Defect: defect,
            SignOff: signoff,
            SupervisedStep: entry,
            User: holder,
            PurchaseOrder: po,
            StockItem: stock,
            StockMovement: stock.movements.get(),
        },
        "beta_user": f.user(operator=beta, username="beta-fm", password="beta-pass-123"),
    }


def _client(user: User, api: bool) -> Client:
    if api:
        token = base64.b64encode(b"beta-fm:beta-pass-123").decode()
        return Client(HTTP_AUTHORIZATION=f"Basic {token}")
    c = Client()
    c.force_login(user)
    return c


def test_every_route_is_covered_and_scoped(world):
    seen, problems = set(), []
    for name, text, kwargs in walk():
        seen.add(name)
        api = text.startswith("api/")
        client = _client(world["beta_user"], api)
        values = {k: "json" for k in kwargs if k == "format"}
        if name.startswith("admin:") or name.startswith("<unnamed admin/"):
            # the admin is hub-only: every admin page is refused to operator staff
            ids = {k: world["objects"][Aircraft].pk for k in kwargs if k != "format"}
            if "<unnamed" in name:
                url = "/" + re.sub(r"<(?:\w+:)?\w+>", "1", text).replace("(?P<url>.*)$", "x/")
            else:
                ids = {k: ("fleet" if k == "app_label" else v) for k, v in ids.items()}
                if "content_type_id" in ids:
                    ids["object_id"] = ids["content_type_id"]
                url = reverse(name, kwargs=ids)
            status = client.get(url).status_code
            if status != 403:
                problems.append(f"{name} {url}: {status}, expected 403")
            continue
        bare = name.split(":")[-1] if name.startswith("api") is False else name
        key = name if name in OBJECT_ROUTES or name in NO_OBJECT_ROUTES else bare
        if key in SHARED_ROUTES:
            continue
        if name in HUB_ONLY_ROUTES or key in HUB_ONLY_ROUTES:
            url = reverse(name, kwargs=values | {k: 1 for k in kwargs if k != "format"})
            # the API's hub-only routes refuse writes too (create, POST-only actions: a GET
            # alone would meet the permission check before the method check)
            for method in ["get", "post"] if api else ["get"]:
                status = getattr(client, method)(url, {}).status_code
                if status != 403:
                    problems.append(
                        f"{method.upper()} {name} {url}: {status}, expected 403 (hub only)"
                    )
            continue
        if key in OBJECT_ROUTES:
            obj = world["objects"][OBJECT_ROUTES[key]]
            values |= {k: obj.pk for k in kwargs if k != "format"}
            url = reverse(name, kwargs=values)
            posts = key.endswith(POST_ONLY) or key in POST_ONLY_PAGES
            methods = ["post"] if posts else ["get", "post"] if key in POSTED_PAGES else ["get"]
            for method in methods:
                response = getattr(client, method)(url, {"action": "open"})
                if response.status_code not in (403, 404):
                    problems.append(
                        f"{method.upper()} {name} {url}: {response.status_code}, expected 404/403"
                    )
        elif key in NO_OBJECT_ROUTES:
            url = reverse(name, kwargs=values)
            response = client.get(url)
            raw = b"".join(response.streaming_content) if response.streaming else response.content
            body = raw.decode(errors="replace")
            if SECRET in body or "ALPHA" in body:
                problems.append(f"{name} {url} shows the other operator's data")
        else:
            problems.append(f"route {name} ({text}) is not covered by the tenancy walk")
    assert not problems, "\n".join(problems)
    # the walk did meet the routes it names
    assert {"fleet:aircraft_detail", "aircraft-detail", "installation-remove"} <= seen


def uncovered_routes() -> set[str]:
    known = set(OBJECT_ROUTES) | set(NO_OBJECT_ROUTES) | SHARED_ROUTES | HUB_ONLY_ROUTES
    return {
        name
        for name, _, _ in walk()
        if not name.startswith("admin:") and "<unnamed admin/" not in name and name not in known
    }


def test_walk_fails_on_an_unknown_route(world, settings):
    """The coverage check itself: a route added without saying how it is scoped fails."""
    assert uncovered_routes() == set()
    settings.ROOT_URLCONF = "tests.urls_with_extra_route"
    assert uncovered_routes() == {"extra-report"}


def test_the_owner_reaches_every_object_route(world):
    """Positive control: the first operator's own user gets its objects (200), so the
    404s above come from tenancy, not from broken routes."""
    alpha = f.user(operator=world["alpha"], username="alpha-fm", password="alpha-pass-123")
    page = Client()
    page.force_login(alpha)
    token = base64.b64encode(b"alpha-fm:alpha-pass-123").decode()
    api = Client(HTTP_AUTHORIZATION=f"Basic {token}")
    for name, text, kwargs in walk():
        if (
            name not in OBJECT_ROUTES
            or name.endswith(POST_ONLY)
            or name in POST_ONLY_PAGES
            or "format" in kwargs
        ):
            continue
        obj = world["objects"][OBJECT_ROUTES[name]]
        url = reverse(name, kwargs={k: obj.pk for k in kwargs})
        client = api if text.startswith("api/") else page
        assert client.get(url).status_code == 200, url


def test_writes_cannot_reach_another_operators_objects(world):
    client = _client(world["beta_user"], api=True)
    a = world["objects"][Aircraft]
    before = (Flight.objects.count(), AuditEvent.objects.count())
    r = client.post(
        "/api/flights/",
        {"aircraft": a.pk, "takeoff": "2025-03-01T06:00:00Z", "landing": "2025-03-01T08:00:00Z"},
        content_type="application/json",
    )
    assert r.status_code == 400 and "does not exist" in r.content.decode()
    r = client.post(
        "/api/installations/",
        {
            "part": world["objects"][Part].pk,
            "aircraft": a.pk,
            "position": 1,
            "installed_at": "2025-03-01T06:00:00Z",
        },
        content_type="application/json",
    )
    assert r.status_code == 400
    assert (Flight.objects.count(), AuditEvent.objects.count()) == before


def test_hub_staff_see_every_operator(world):
    hub = f.user(role="planner")
    c = Client()
    c.force_login(hub)
    body = c.get("/").content.decode()
    assert f"{SECRET}-AC" in body and "BETA-AC" in body
    assert c.get(f"/aircraft/{world['objects'][Aircraft].pk}/").status_code == 200


def test_part_history_on_another_operators_aircraft_is_not_disclosed(world):
    """A part moved from ALPHA's aircraft to BETA's: BETA sees the part and its counters,
    not ALPHA's aircraft."""
    pa = world["objects"][Part]
    services.remove_part(actor=None, part=pa, removed_at=utc(2025, 3, 1), reason="scheduled")
    services.transfer_part(actor=None, part=pa, operator=None)
    beta_ac = Aircraft.objects.get(serial="BETA-AC")
    services.remove_part(
        actor=None,
        part=Part.objects.get(serial="BETA-SN"),
        removed_at=utc(2025, 3, 2),
        reason="scheduled",
    )
    f.install(pa, beta_ac, utc(2025, 3, 3))
    c = _client(world["beta_user"], api=False)
    body = c.get(f"/parts/{pa.pk}/").content.decode()
    assert "another operator&#x27;s aircraft" in body or "another operator's aircraft" in body
    assert f"{SECRET}-AC" not in body
    assert "3.0" in body or "3.00" in body  # the 3 h flown on ALPHA's aircraft still count
