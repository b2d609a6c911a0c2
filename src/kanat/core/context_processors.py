from django.http import HttpRequest

import kanat


def version(request: HttpRequest) -> dict[str, str]:
    return {"kanat_version": kanat.__version__}
