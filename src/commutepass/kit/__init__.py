"""The small shared plumbing every area uses: app context, settings, security, sessions, the audit
chain, problem responses, i18n and rendering, role gates, CLI output."""
