// The Reporting module (see ../shared/DESIGN.md, "Layout"); its contents arrive with their issue.
