// The Analysis module (see ../shared/DESIGN.md, "Layout"); its contents arrive with their issue.
