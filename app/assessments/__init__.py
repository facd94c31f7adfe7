"""Ability assessments (京民发〔2026〕6号 二(二), attachment 5): records, approval, conflict of interest."""
