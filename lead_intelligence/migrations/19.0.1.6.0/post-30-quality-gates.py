"""19.0.1.6.0: trained models pass quality gates before they act. The models active before the
upgrade were activated under the rules of their day: they are kept acting (their verdict reads
"passed"); a new training is judged by the gates."""


def migrate(cr, version):
    if not version:
        return
    cr.execute("UPDATE crm_lead_scoring_model SET quality_passed = TRUE WHERE state = 'active'")
