"""Consolidated reports: context from the warehouse, .docx (docxtpl) and .xlsx (openpyxl)."""
