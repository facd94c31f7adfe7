"""The zh-CN district dashboard: server-rendered pages over the same services as the API."""
