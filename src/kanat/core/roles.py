"""Roles and what each may do.

A user belongs to the hub (``operator`` null) or to exactly one operator; hub roles
and operator roles do not mix. Capabilities are named strings checked by services
and views; the table below is the one place that says who may do what.
"""

from __future__ import annotations

from django.db import models


class Role(models.TextChoices):
    HUB_ADMIN = "hub_admin", "Hub administrator"
    PLANNER = "planner", "Maintenance planner"
    TECHNICIAN = "technician", "Technician"
    INSPECTOR = "inspector", "Inspector"
    STOREKEEPER = "storekeeper", "Storekeeper"
    QUALITY = "quality", "Quality engineer"
    TRAINING_MANAGER = "training_manager", "Training manager"
    OPERATOR_FLEET_MANAGER = "operator_fleet_manager", "Operator fleet manager"
    OPERATOR_VIEWER = "operator_viewer", "Operator viewer"


HUB_ROLES = frozenset(
    {
        Role.HUB_ADMIN,
        Role.PLANNER,
        Role.TECHNICIAN,
        Role.INSPECTOR,
        Role.STOREKEEPER,
        Role.QUALITY,
        Role.TRAINING_MANAGER,
    }
)
OPERATOR_ROLES = frozenset({Role.OPERATOR_FLEET_MANAGER, Role.OPERATOR_VIEWER})


class Capability(models.TextChoices):
    MANAGE_REFERENCE = "manage_reference", "Manage types, variants, positions, part numbers"
    MANAGE_FLEET = "manage_fleet", "Register aircraft and parts"
    RECORD_FLIGHT = "record_flight", "Record flights"
    CHANGE_CONFIGURATION = "change_configuration", "Install and remove parts"
    MANAGE_USERS = "manage_users", "Manage users and operators"
    MANAGE_PROGRAMME = "manage_programme", "Define maintenance tasks and their revisions"
    RECORD_COMPLIANCE = "record_compliance", "Record task compliance"
    IMPORT_BUNDLE = "import_bundle", "Import fleet bundles"
    PLAN_WORK = "plan_work", "Plan work packages and their task cards"
    PERFORM_WORK = "perform_work", "Sign task card steps, cards, inspections, deferrals, releases"
    RAISE_DEFECT = "raise_defect", "Raise defects"
    MANAGE_AUTHORISATIONS = (
        "manage_authorisations",
        "Record qualifications and issue or withdraw certification authorisations",
    )
    MANAGE_ENGINEERING = (
        "manage_engineering",
        "Define part masters, products, bills of materials and routings; release BOMs",
    )
    MANAGE_STOCK = "manage_stock", "Receive, move, reserve, issue and scrap stock"
    PURCHASE = "purchase", "Manage suppliers, purchase orders and minimum stock"
    MANAGE_PRODUCTION = (
        "manage_production",
        "Plan, release, complete and accept build orders",
    )
    PERFORM_PRODUCTION = "perform_production", "Sign build order operations"
    INSPECT_PRODUCTION = (
        "inspect_production",
        "Record production inspection results; raise and disposition non-conformances",
    )
    MANAGE_TRAINING = (
        "manage_training",
        "Run the training catalogue: courses, sessions, enrolments, attendance, assessments,"
        " certificates, trainees, stages and their requirements",
    )
    GRANT_STAGE = "grant_stage", "Grant and withdraw authorisation stages"


CAPABILITIES: dict[str, frozenset[str]] = {
    Capability.MANAGE_REFERENCE: frozenset({Role.HUB_ADMIN, Role.PLANNER, Role.QUALITY}),
    Capability.MANAGE_FLEET: frozenset({Role.HUB_ADMIN, Role.PLANNER}),
    Capability.RECORD_FLIGHT: frozenset(
        {Role.HUB_ADMIN, Role.PLANNER, Role.TECHNICIAN, Role.OPERATOR_FLEET_MANAGER}
    ),
    Capability.CHANGE_CONFIGURATION: frozenset(
        {Role.HUB_ADMIN, Role.PLANNER, Role.TECHNICIAN, Role.INSPECTOR}
    ),
    Capability.MANAGE_USERS: frozenset({Role.HUB_ADMIN}),
    Capability.MANAGE_PROGRAMME: frozenset({Role.HUB_ADMIN, Role.PLANNER, Role.QUALITY}),
    Capability.RECORD_COMPLIANCE: frozenset(
        {Role.HUB_ADMIN, Role.PLANNER, Role.TECHNICIAN, Role.INSPECTOR, Role.QUALITY}
    ),
    Capability.IMPORT_BUNDLE: frozenset({Role.HUB_ADMIN}),
    Capability.PLAN_WORK: frozenset({Role.HUB_ADMIN, Role.PLANNER}),
    Capability.PERFORM_WORK: frozenset(
        {Role.HUB_ADMIN, Role.TECHNICIAN, Role.INSPECTOR, Role.QUALITY}
    ),
    Capability.RAISE_DEFECT: frozenset(set(Role.values)),
    Capability.MANAGE_AUTHORISATIONS: frozenset(
        {Role.HUB_ADMIN, Role.QUALITY, Role.TRAINING_MANAGER}
    ),
    Capability.MANAGE_ENGINEERING: frozenset({Role.HUB_ADMIN, Role.PLANNER, Role.QUALITY}),
    Capability.MANAGE_STOCK: frozenset({Role.HUB_ADMIN, Role.STOREKEEPER}),
    Capability.PURCHASE: frozenset({Role.HUB_ADMIN, Role.STOREKEEPER, Role.PLANNER}),
    Capability.MANAGE_PRODUCTION: frozenset({Role.HUB_ADMIN, Role.PLANNER}),
    Capability.PERFORM_PRODUCTION: frozenset(
        {Role.HUB_ADMIN, Role.TECHNICIAN, Role.INSPECTOR, Role.QUALITY}
    ),
    Capability.INSPECT_PRODUCTION: frozenset({Role.HUB_ADMIN, Role.INSPECTOR, Role.QUALITY}),
    Capability.MANAGE_TRAINING: frozenset({Role.HUB_ADMIN, Role.TRAINING_MANAGER}),
    Capability.GRANT_STAGE: frozenset({Role.HUB_ADMIN, Role.TRAINING_MANAGER}),
}


def role_allows(role: str, capability: str) -> bool:
    return role in CAPABILITIES[capability]
