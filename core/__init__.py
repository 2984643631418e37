"""Appointment operations core: all logic, no Streamlit."""
