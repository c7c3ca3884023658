// The Experiments module (see ../shared/DESIGN.md, "Layout"); its contents arrive with their issue.
