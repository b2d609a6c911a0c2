from django.contrib import admin

from kanat.core.admin import ReadOnlyAdmin
from kanat.fleet.models import (
    Aircraft,
    AircraftType,
    Flight,
    Installation,
    Part,
    PartNumber,
    Position,
    Variant,
)


@admin.register(AircraftType)
class AircraftTypeAdmin(ReadOnlyAdmin):
    list_display = ["code", "name", "kind", "manufacturer"]


@admin.register(Variant)
class VariantAdmin(ReadOnlyAdmin):
    list_display = ["code", "aircraft_type", "name"]


@admin.register(Position)
class PositionAdmin(ReadOnlyAdmin):
    list_display = ["variant", "code", "ata", "name", "parent"]
    list_filter = ["variant"]


@admin.register(PartNumber)
class PartNumberAdmin(ReadOnlyAdmin):
    list_display = ["pn", "description", "tracking", "invented"]
    search_fields = ["pn", "description"]


@admin.register(Aircraft)
class AircraftAdmin(ReadOnlyAdmin):
    list_display = ["serial", "variant", "operator", "delivered", "status"]
    list_filter = ["operator", "variant"]
    search_fields = ["serial"]


@admin.register(Part)
class PartAdmin(ReadOnlyAdmin):
    list_display = ["part_number", "serial", "manufactured", "operator"]
    search_fields = ["serial", "part_number__pn"]
    list_select_related = ["part_number", "operator"]


@admin.register(Installation)
class InstallationAdmin(ReadOnlyAdmin):
    list_display = ["part", "aircraft", "position", "installed_at", "removed_at"]
    list_select_related = ["part__part_number", "aircraft", "position__variant"]


@admin.register(Flight)
class FlightAdmin(ReadOnlyAdmin):
    list_display = ["aircraft", "takeoff", "landing", "cycles", "source"]
    list_filter = ["source"]
    list_select_related = ["aircraft"]
