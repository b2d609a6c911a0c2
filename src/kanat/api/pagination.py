"""Pagination of the API (own module: DRF reads it while importing its generics)."""

from rest_framework import pagination


class Pagination(pagination.PageNumberPagination):
    page_size_query_param = "page_size"
    max_page_size = 500
