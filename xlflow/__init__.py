"""xlflow: personalised teacher mentorship programmes through Excel workbooks."""

__version__ = "0.1.0"
