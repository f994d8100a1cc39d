from . import crm_lead_classification_report
