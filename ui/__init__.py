"""The Streamlit ward app's modules: pages read, call ``monitoring`` / ``grading`` and draw."""
